import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { HEARTBEAT_PARAMETER } from '../../core/alerts/record.ts'
import { isoSeconds } from '../../core/clock.ts'

/**
 * The heartbeat as CloudTrail sees it: the reconciler writes the time to one standard SSM
 * parameter (free, and a management write event, which EventBridge delivers), in the home
 * region, where the alert rule is.
 */
export const sendHeartbeat =
  (ssm: SSMClient) =>
  async (at: Date): Promise<void> => {
    await ssm.send(
      new PutParameterCommand({
        Name: HEARTBEAT_PARAMETER,
        Value: isoSeconds(at),
        Type: 'String',
        Overwrite: true,
        Description: "keyless: the reconciler's heartbeat through CloudTrail to the alert function",
      }),
    )
  }
