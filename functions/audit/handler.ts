import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import { auditSources } from '../../shared/adapters/aws/audit-sources.ts'
import { DynamoAuditRuns } from '../../shared/adapters/dynamodb/audit-runs.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import type { AuditChanges } from '../../shared/core/audit/audit.ts'
import { type ScheduledAuditDeps, scheduledAudit } from '../../shared/core/audit/scheduled.ts'
import { commonDeps, documentClient, logger, tableName } from '../runtime/aws-deps.ts'

/**
 * Scheduled (EventBridge, `audit.schedule`, weekly by default): the standing-access audit of
 * every configured account, and what changed since the last run told to the security channel
 * (shared/core/audit/scheduled.ts). It reads IAM and changes nothing.
 */
export const raw = (deps: ScheduledAuditDeps) => async (): Promise<AuditChanges> => {
  const changes = await scheduledAudit(deps)
  logger.info('audited', {
    standing: changes.standing,
    opened: changes.opened.length,
    closed: changes.closed.length,
    unaudited: changes.unaudited.map((entry) => entry.account),
  })
  return changes
}

export const handler = middy(() =>
  withSlackBudget(SLACK_BUDGET_MS.reconciler, async () => {
    const { config, notifier, clock, warn } = await commonDeps()
    return raw({
      partition: config.partition,
      accepted: config.audit.accepted,
      sources: auditSources(config),
      runs: new DynamoAuditRuns(documentClient(), tableName()),
      notifier,
      clock,
      warn,
    })()
  }),
).use(injectLambdaContext(logger))
