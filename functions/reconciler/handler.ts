import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import type { AlertSender } from '../../shared/core/alerts/service.ts'
import { isoSeconds } from '../../shared/core/clock.ts'
import { type ReconcileDeps, reconcile } from '../../shared/core/grants/reconciler.ts'
import { awsDeps } from '../runtime/access-deps.ts'
import { alertService } from '../runtime/alert-deps.ts'
import { documentClient, logger, tableName } from '../runtime/aws-deps.ts'

/** How many unsent security alerts one run posts (each a Slack call; the next run takes the rest). */
const UNSENT_ALERTS_PER_RUN = 50

/**
 * Scheduled (EventBridge, every few minutes): starts lost executions again, makes the world
 * match the grants and reports what it repaired; then posts the security alerts that Slack
 * refused earlier; and records that it ran (what `keyless doctor --stack` reads).
 */
export const raw = (deps: ReconcileDeps, alerts?: AlertSender, runs?: DynamoReconcilerRuns) => async () => {
  const at = isoSeconds(deps.clock.now())
  const findings = await reconcile(deps)
  const unsent = alerts ? await alerts.sendUnsent(UNSENT_ALERTS_PER_RUN) : { posted: 0, left: false }
  await runs?.record({ at, findings: findings.length, alertsPosted: unsent.posted })
  logger.info('reconciled', {
    findings: findings.length,
    alertsPosted: unsent.posted,
    alertsLeft: unsent.left,
  })
  return { findings: findings.length, alertsPosted: unsent.posted }
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
