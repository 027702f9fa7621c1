import type { EC2Client } from '@aws-sdk/client-ec2'
import type { agentCredentials } from '../../shared/adapters/aws/agent-credentials.ts'
import { perKey } from '../../shared/adapters/aws/clients.ts'
import { Ec2Inventory } from '../../shared/adapters/aws/ec2-inventory.ts'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { SlackSecurityChannel } from '../../shared/adapters/slack/security-channel.ts'
import { evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { CachedInventory } from '../../shared/core/alerts/inventory.ts'
import { AlertService } from '../../shared/core/alerts/service.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import { commonDeps, documentClient, memoizeSuccess, tableName, webSlackApi } from './aws-deps.ts'

/**
 * EC2 clients by account and region, built on first use and kept: the home account's with the
 * function's own credentials, a member account's signing as its agent role. EC2 and STS are
 * imported on the first lookup that needs them (see Ec2Inventory): a one-account deployment
 * never loads STS.
 */
function ec2Clients(config: KeylessConfig): (account: string, region: string) => Promise<EC2Client> {
  const byAccount = perKey((account) => {
    // A member account's regions share one agent session, made on the first lookup there.
    let agent: Promise<ReturnType<typeof agentCredentials>> | undefined
    const agentOf = async () => {
      const [{ STSClient }, credentials] = await Promise.all([
        import('@aws-sdk/client-sts'),
        import('../../shared/adapters/aws/agent-credentials.ts'),
      ])
      return credentials.agentCredentials(new STSClient({}), config.partition, account)
    }
    return perKey(async (region): Promise<EC2Client> => {
      const { EC2Client } = await import('@aws-sdk/client-ec2')
      if (account === config.account) return new EC2Client({ region })
      agent ??= agentOf()
      return new EC2Client({ region, credentials: await agent })
    })
  })
  return (account, region) => byAccount(account)(region)
}

/**
 * The alert function's (and the reconciler's sender's) dependencies: the common ones, the
 * verdicts in the same table, EC2's tags behind a one-minute cache, and Slack, which alerts
 * cannot do without.
 */
export const alertService = memoizeSuccess(async (): Promise<AlertService> => {
  const { config, store, clock, warn } = await commonDeps()
  const inventory = new CachedInventory(new Ec2Inventory(ec2Clients(config)), clock)
  return new AlertService({
    context: evaluationContext(config, inventory, store),
    grants: store,
    verdicts: new DynamoVerdictStore(documentClient(), tableName()),
    securityChannel: new SlackSecurityChannel(webSlackApi(), config.slack.securityChannel),
    clock,
    warn,
    heartbeats: new DynamoHeartbeats(documentClient(), tableName()),
  })
})
