import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import middy from '@middy/core'
import { accessClientsByAccount } from '../../shared/adapters/aws/access-clients.ts'
import { sendHeartbeat } from '../../shared/adapters/aws/heartbeat-parameter.ts'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import {
  beatAndWatch,
  describePath,
  type HeartbeatDeps,
  type HeartbeatVerdict,
  watchedPaths,
} from '../../shared/core/alerts/heartbeat.ts'
import type { AlertSender } from '../../shared/core/alerts/service.ts'
import { isoSeconds } from '../../shared/core/clock.ts'
import { type ReconcileDeps, reconcilerPass } from '../../shared/core/grants/reconciler.ts'
import { awsDeps } from '../runtime/access-deps.ts'
import { alertService } from '../runtime/alert-deps.ts'
import { documentClient, logger, tableName } from '../runtime/aws-deps.ts'
import { KEYLESS_METRICS } from '../runtime/metrics.ts'

/** What a run reports to besides its log: the unsent alerts' sender, its own record, the repairs metric. */
export interface ReconcilerOutputs {
  alerts?: AlertSender
  runs?: DynamoReconcilerRuns
  /** Called with how many repairs a run made, when it made any (the `ReconcilerRepairs` metric). */
  repaired?: (count: number) => void
  /** The alert paths' heartbeats, sent and watched every run (deployed only: locally no CloudTrail sees them). */
  heartbeat?: Pick<HeartbeatDeps, 'heartbeats' | 'beat' | 'paths'>
}

/**
 * Scheduled (EventBridge, every few minutes): starts lost executions again, makes the world
 * match the grants and reports what it repaired; then posts the security alerts that Slack
 * refused earlier; sends the alert path's heartbeat and says when none has come through; and
 * records that it ran (what `keyless doctor --stack` reads).
 */
export const raw =
  (deps: ReconcileDeps, outputs: ReconcilerOutputs = {}) =>
  async (): Promise<{
    findings: number
    alertsPosted: number
    alertPaths: { path: string; verdict: HeartbeatVerdict }[] | 'unwatched'
  }> => {
    const at = isoSeconds(deps.clock.now())
    const { findings, alertsPosted, alertsLeft } = await reconcilerPass(deps, outputs.alerts)
    if (findings.length > 0) outputs.repaired?.(findings.length)
    let alertPaths: { path: string; verdict: HeartbeatVerdict }[] | 'unwatched' = 'unwatched'
    if (outputs.heartbeat) {
      try {
        const watched = await beatAndWatch({
          ...outputs.heartbeat,
          notifier: deps.notifier,
          clock: deps.clock,
          warn: deps.warn,
        })
        alertPaths = watched.map(({ path, verdict }) => ({ path: describePath(path), verdict }))
      } catch (error) {
        // Logged as an error (the FunctionErrors alarm); the next run watches again.
        logger.error('could not watch the alert path', { error })
      }
    }
    await outputs.runs?.record({ at, findings: findings.length, alertsPosted })
    logger.info('reconciled', { findings: findings.length, alertsPosted, alertsLeft, alertPaths })
    return { findings: findings.length, alertsPosted, alertPaths }
  }

/**
 * The repairs as a CloudWatch metric (Powertools' embedded metric format, in the function's log):
 * published only when a run repaired something, so it costs nothing while all is well.
 */
const metrics = new Metrics({ namespace: KEYLESS_METRICS.namespace, serviceName: KEYLESS_METRICS.service })
const repaired = (count: number) => {
  metrics.addMetric(KEYLESS_METRICS.reconcilerRepairs, MetricUnit.Count, count)
  metrics.publishStoredMetrics()
}

/** Session Manager's clients by account and region, for the heartbeats: the agent's in a member account. */
let clients: ReturnType<typeof accessClientsByAccount> | undefined

export const handler = middy(() =>
  withSlackBudget(SLACK_BUDGET_MS.reconciler, async () => {
    const { reconcile } = await awsDeps()
    clients ??= accessClientsByAccount(reconcile.config)
    const ssmOf = clients
    return raw(reconcile, {
      alerts: (await alertService()).sender,
      runs: new DynamoReconcilerRuns(documentClient(), tableName()),
      repaired,
      heartbeat: {
        heartbeats: new DynamoHeartbeats(documentClient(), tableName()),
        paths: watchedPaths(reconcile.config),
        beat: sendHeartbeat((path) => ssmOf(path.account).ssm(path.region)),
      },
    })()
  }),
).use(injectLambdaContext(logger))
