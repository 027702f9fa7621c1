import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import middy from '@middy/core'
import { z } from 'zod'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import { problemOf } from '../../shared/core/alerts/input.ts'
import { EVENTBRIDGE_SOURCES, readRecord, WATCHED_EVENTS } from '../../shared/core/alerts/record.ts'
import type { AlertService } from '../../shared/core/alerts/service.ts'
import { alertService } from '../runtime/alert-deps.ts'
import { logger } from '../runtime/aws-deps.ts'
import { KEYLESS_METRICS } from '../runtime/metrics.ts'

/**
 * The alert function: the target of the EventBridge rule for CloudTrail's access events. The
 * rule's pattern chooses what arrives, and this re-checks it (a rule edited by hand, or an
 * event sent to the bus by someone else, must not be taken at its word): the envelope's
 * detail-type and source, the record's eventSource matching the source, an access event name.
 * What it cannot use it logs and drops: a retry would not make it readable.
 */

const envelopeSchema = z.looseObject({
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  source: z.enum(Object.keys(EVENTBRIDGE_SOURCES) as [string, ...string[]]),
  detail: z.looseObject({ eventSource: z.string() }),
})

export type AlertFunctionResult =
  | { outcome: 'dropped'; reason: string }
  | { outcome: 'ignored'; eventName: string }
  | { outcome: 'evaluated'; eventId: string; rules: string[]; alert: string; grantId: string | null }

export const raw =
  (
    service: AlertService,
    log: Pick<typeof logger, 'info' | 'warn' | 'error'> = logger,
    /** Called when keyless's own heartbeat came through (the `HeartbeatsSeen` metric). */
    heartbeatSeen: () => void = () => {},
  ) =>
  async (event: unknown): Promise<AlertFunctionResult> => {
    const envelope = envelopeSchema.safeParse(event)
    if (!envelope.success) {
      const reason = `not a CloudTrail API call from ${Object.keys(EVENTBRIDGE_SOURCES).join(' or ')}`
      log.warn('event dropped', { reason, id: (event as { id?: unknown } | null)?.id })
      return { outcome: 'dropped', reason }
    }
    const { source, detail } = envelope.data
    if (EVENTBRIDGE_SOURCES[source] !== detail.eventSource) {
      const reason = `source ${source} does not match the record's eventSource ${detail.eventSource}`
      log.error('event dropped', { reason })
      return { outcome: 'dropped', reason }
    }
    const read = readRecord(detail)
    if (read.kind === 'malformed') {
      const reason = `malformed record: ${problemOf(read)}`
      log.error('event dropped', { reason, eventId: (detail as { eventID?: unknown }).eventID })
      return { outcome: 'dropped', reason }
    }
    if (read.kind === 'ignored') {
      log.info('not a watched event', { eventName: read.eventName, expected: WATCHED_EVENTS })
      return { outcome: 'ignored', eventName: read.eventName }
    }
    const { verdict, alert, heartbeat } = await service.handle(read.event)
    if (heartbeat) heartbeatSeen()
    const rules = verdict.findings.map((finding) => finding.rule)
    log.info('event evaluated', {
      eventId: verdict.eventId,
      eventName: verdict.eventName,
      target: verdict.target,
      rules,
      alert,
    })
    // Alerts an earlier invocation could not post go out now, at most once a minute.
    await service.sender.sweepIfDue()
    return { outcome: 'evaluated', eventId: verdict.eventId, rules, alert, grantId: verdict.grantId }
  }

/**
 * Each heartbeat as a CloudWatch metric (Powertools' embedded metric format, in the log): the
 * AlertPathSilent alarm fires when none arrives for 30 minutes, whatever broke on the way.
 */
const metrics = new Metrics({ namespace: KEYLESS_METRICS.namespace, serviceName: KEYLESS_METRICS.service })
const heartbeatSeen = () => {
  metrics.addMetric(KEYLESS_METRICS.heartbeatsSeen, MetricUnit.Count, 1)
  metrics.publishStoredMetrics()
}

export const handler = middy((event: unknown) =>
  withSlackBudget(SLACK_BUDGET_MS.alert, async () => raw(await alertService(), logger, heartbeatSeen)(event)),
).use(injectLambdaContext(logger))
