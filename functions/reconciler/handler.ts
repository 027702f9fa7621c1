import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import type { AlertSender } from '../../shared/core/alerts/service.ts'
import { isoSeconds } from '../../shared/core/clock.ts'
import { type ReconcileDeps, reconcilerPass } from '../../shared/core/grants/reconciler.ts'
import { awsDeps } from '../runtime/access-deps.ts'
import { alertService } from '../runtime/alert-deps.ts'
import { documentClient, logger, tableName } from '../runtime/aws-deps.ts'

/**
 * Scheduled (EventBridge, every few minutes): starts lost executions again, makes the world
 * match the grants and reports what it repaired; then posts the security alerts that Slack
 * refused earlier; and records that it ran (what `keyless doctor --stack` reads).
 */
export const raw = (deps: ReconcileDeps, alerts?: AlertSender, runs?: DynamoReconcilerRuns) => async () => {
  const at = isoSeconds(deps.clock.now())
  const { findings, alertsPosted, alertsLeft } = await reconcilerPass(deps, alerts)
  await runs?.record({ at, findings: findings.length, alertsPosted })
  logger.info('reconciled', { findings: findings.length, alertsPosted, alertsLeft })
  return { findings: findings.length, alertsPosted }
}

export const handler = middy(() =>
  withSlackBudget(SLACK_BUDGET_MS.reconciler, async () =>
    raw(
      await awsDeps(),
      (await alertService()).sender,
      new DynamoReconcilerRuns(documentClient(), tableName()),
    )(),
  ),
).use(injectLambdaContext(logger))
