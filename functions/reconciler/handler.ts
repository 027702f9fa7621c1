import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import { SSMClient } from '@aws-sdk/client-ssm'
import middy from '@middy/core'
import { sendHeartbeat } from '../../shared/adapters/aws/heartbeat-parameter.ts'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import {
  beatAndWatch,
  type HeartbeatDeps,
  type HeartbeatVerdict,
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
  /** The alert path's heartbeat, sent and watched every run (deployed only: locally no CloudTrail sees it). */
  heartbeat?: Pick<HeartbeatDeps, 'heartbeats' | 'beat'>
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
    alertPath: HeartbeatVerdict | 'unwatched'
  }> => {
    const at = isoSeconds(deps.clock.now())
    const { findings, alertsPosted, alertsLeft } = await reconcilerPass(deps, outputs.alerts)
    if (findings.length > 0) outputs.repaired?.(findings.length)
    let alertPath: HeartbeatVerdict | 'unwatched' = 'unwatched'
    if (outputs.heartbeat) {
      try {
        alertPath = await beatAndWatch({
          ...outputs.heartbeat,
          notifier: deps.notifier,
          clock: deps.clock,
          warn: deps.warn,
        })
      } catch (error) {
        // Logged as an error (the FunctionErrors alarm); the next run watches again.
        logger.error('could not watch the alert path', { error })
      }
    }
    await outputs.runs?.record({ at, findings: findings.length, alertsPosted })
    logger.info('reconciled', { findings: findings.length, alertsPosted, alertsLeft, alertPath })
    return { findings: findings.length, alertsPosted, alertPath }
  }

/**
 * The repairs as a CloudWatch metric (Powertools' embedded metric format, in the function's log):
 * published only when a run repaired something, so it costs nothing while all is well.
 */
/** One SSM client for the heartbeat, in the function's own (the home) region. */
let ssm: SSMClient | undefined
const heartbeatClient = () => {
  ssm ??= new SSMClient({})
  return ssm
}

const metrics = new Metrics({ namespace: KEYLESS_METRICS.namespace, serviceName: KEYLESS_METRICS.service })
const repaired = (count: number) => {
  metrics.addMetric(KEYLESS_METRICS.reconcilerRepairs, MetricUnit.Count, count)
  metrics.publishStoredMetrics()
}

export const handler = middy(() =>
  withSlackBudget(SLACK_BUDGET_MS.reconciler, async () =>
    raw((await awsDeps()).reconcile, {
      alerts: (await alertService()).sender,
      runs: new DynamoReconcilerRuns(documentClient(), tableName()),
      repaired,
      heartbeat: {
        heartbeats: new DynamoHeartbeats(documentClient(), tableName()),
        beat: sendHeartbeat(heartbeatClient()),
      },
    })(),
  ),
).use(injectLambdaContext(logger))
