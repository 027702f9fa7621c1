import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { liveGrants } from '../../local/operator-api.ts'
import { createDocumentClient, createSfnClient } from '../../shared/aws/clients.ts'
import { systemClock } from '../../shared/clock.ts'
import { revokeGrant } from '../../shared/grants/control.ts'
import { DynamoGrantStore } from '../../shared/store/dynamo-grant-store.ts'
import { AwsWorkflow } from '../../shared/workflow/aws-workflow.ts'
import type { CliIo } from '../io.ts'
import type { GrantsSource } from './grants.ts'

// A deployed table, with the caller's AWS credentials.

export function tableSource(table: string, region: string | undefined, io: CliIo): GrantsSource {
  const overrides = region ? { region } : {}
  const store = new DynamoGrantStore(createDocumentClient(overrides), table)
  return {
    list: (all) => (all ? store.listAll() : liveGrants({ store })),
    show: (id) => store.get(id),
    revoke: async (id, reason) => {
      // The operator is whoever the AWS credentials say: the ARN IAM itself would log.
      const { Arn } = await new STSClient(overrides).send(new GetCallerIdentityCommand({}))
      const deps = {
        store,
        // Ending a wait needs only the task token the grant holds; nothing is started from here.
        workflow: new AwsWorkflow(createSfnClient(overrides), ''),
        clock: systemClock,
        // The revoke is recorded before the workflow is woken: if waking it fails, the reconciler acts.
        warn: (message: string, details: Record<string, unknown>) =>
          io.err(
            `keyless: warning: ${message} (${JSON.stringify(details)}); the reconciler carries out what was recorded\n`,
          ),
      }
      return revokeGrant(deps, id, { kind: 'operator', id: Arn ?? 'unknown' }, reason)
    },
  }
}
