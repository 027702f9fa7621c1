import { Ec2Inventory } from '../../shared/alerts/ec2-inventory.ts'
import { evaluationContext } from '../../shared/alerts/evaluate.ts'
import { CachedInventory } from '../../shared/alerts/inventory.ts'
import { AlertService } from '../../shared/alerts/service.ts'
import { perRegion } from '../../shared/aws/clients.ts'
import { DynamoVerdictStore } from '../../shared/store/dynamo-verdict-store.ts'
import { commonDeps, documentClient, memoizeSuccess, tableName, webSlackApi } from './aws-deps.ts'

/**
 * The alert function's (and the reconciler's sender's) dependencies: the common ones, the
 * verdicts in the same table, EC2's tags behind a one-minute cache, and Slack, which alerts
 * cannot do without.
 */
export const alertService = memoizeSuccess(async (): Promise<AlertService> => {
  if (!process.env.SLACK_SECRET_ARN)
    throw new Error('SLACK_SECRET_ARN is required: alerts are posted to Slack')
  const { config, store, clock, warn } = await commonDeps()
  const inventory = new CachedInventory(
    // Imported on the first lookup: see Ec2Inventory.
    new Ec2Inventory(
      perRegion(async (region) => new (await import('@aws-sdk/client-ec2')).EC2Client({ region })),
    ),
    clock,
  )
  return new AlertService({
    config,
    context: evaluationContext(config, inventory, store),
    grants: store,
    verdicts: new DynamoVerdictStore(documentClient(), tableName()),
    slack: webSlackApi(),
    clock,
    warn,
  })
})
