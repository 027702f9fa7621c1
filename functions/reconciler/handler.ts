import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import type { AlertSender } from '../../shared/alerts/service.ts'
import { type ReconcileDeps, reconcile } from '../../shared/grants/reconciler.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/slack/budget.ts'
import { awsDeps } from '../runtime/access-deps.ts'
import { alertService } from '../runtime/alert-deps.ts'
import { logger } from '../runtime/aws-deps.ts'

/** How many unsent security alerts one run posts (each a Slack call; the next run takes the rest). */
const UNSENT_ALERTS_PER_RUN = 50

/**
 * Scheduled (EventBridge, every few minutes): starts lost executions again, makes the world
 * match the grants and reports what it repaired; then posts the security alerts that Slack
 * refused earlier.
 */
export const raw = (deps: ReconcileDeps, alerts?: AlertSender) => async () => {
  const findings = await reconcile(deps)
  const unsent = alerts ? await alerts.sendUnsent(UNSENT_ALERTS_PER_RUN) : { posted: 0, left: false }
  logger.info('reconciled', {
    findings: findings.length,
    alertsPosted: unsent.posted,
    alertsLeft: unsent.left,
  })
  return { findings: findings.length, alertsPosted: unsent.posted }
}

export const handler = middy(() =>
  withSlackBudget(SLACK_BUDGET_MS.reconciler, async () =>
    raw(await awsDeps(), (await alertService()).sender)(),
  ),
).use(injectLambdaContext(logger))
