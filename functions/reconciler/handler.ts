import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import { reconcile } from '../../shared/grants/reconciler.ts'
import type { TaskDeps } from '../../shared/grants/tasks.ts'
import { awsDeps } from '../runtime/access-deps.ts'
import { logger } from '../runtime/aws-deps.ts'

/** Scheduled (EventBridge, every few minutes): makes the world match the grants and reports what it repaired. */
export const raw = (deps: Omit<TaskDeps, 'workflow'>) => async () => {
  const findings = await reconcile(deps)
  logger.info('reconciled', { findings: findings.length })
  return { findings: findings.length }
}

export const handler = middy(async () => raw(await awsDeps())()).use(injectLambdaContext(logger))
