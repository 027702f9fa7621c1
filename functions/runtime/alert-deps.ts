import { perRegion } from '../../shared/adapters/aws/clients.ts'
import { Ec2Inventory } from '../../shared/adapters/aws/ec2-inventory.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { SlackSecurityChannel } from '../../shared/adapters/slack/security-channel.ts'
import { evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { CachedInventory } from '../../shared/core/alerts/inventory.ts'
import { AlertService } from '../../shared/core/alerts/service.ts'
import { commonDeps, documentClient, memoizeSuccess, tableName, webSlackApi } from './aws-deps.ts'

/**
 * The alert function's (and the reconciler's sender's) dependencies: the common ones, the
 * verdicts in the same table, EC2's tags behind a one-minute cache, and Slack, which alerts
 * cannot do without.
 */
export const alertService = memoizeSuccess(async (): Promise<AlertService> => {
  const { config, store, clock, warn } = await commonDeps()
  const inventory = new CachedInventory(
    // Imported on the first lookup: see Ec2Inventory.
    new Ec2Inventory(
      perRegion(async (region) => new (await import('@aws-sdk/client-ec2')).EC2Client({ region })),
    ),
    clock,
  )
  return new AlertService({
    context: evaluationContext(config, inventory, store),
    grants: store,
    verdicts: new DynamoVerdictStore(documentClient(), tableName()),
    securityChannel: new SlackSecurityChannel(webSlackApi(), config.slack.securityChannel),
    clock,
    warn,
  })
})
