import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import type { HeartbeatPath } from '../../core/alerts/heartbeat.ts'
import { HEARTBEAT_PARAMETER } from '../../core/alerts/record.ts'
import { isoSeconds } from '../../core/clock.ts'

/**
 * The heartbeat as CloudTrail sees it: the reconciler writes the time to one standard SSM
 * parameter (free, and a management write event, which EventBridge delivers) in each watched
 * account and region, with that account's client (the agent's in a member account).
 */
export const sendHeartbeat =
  (ssmOf: (path: HeartbeatPath) => SSMClient) =>
  async (path: HeartbeatPath, at: Date): Promise<void> => {
    await ssmOf(path).send(
      new PutParameterCommand({
        Name: HEARTBEAT_PARAMETER,
        Value: isoSeconds(at),
        Type: 'String',
        Overwrite: true,
        Description: "keyless: the reconciler's heartbeat through CloudTrail to the alert function",
      }),
    )
  }
