import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import type { z } from 'zod'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import type { TaskDeps } from '../../shared/core/grants/tasks.ts'
import { awsDeps } from './access-deps.ts'
import { logger } from './aws-deps.ts'

/**
 * A workflow task as a Lambda function: the state machine's Payload checked against `input`,
 * then one domain function. `raw` takes its dependencies (what the local runner and the tests
 * call); `handler` is the deployed function, with AWS dependencies, the logger's context (and
 * the grant's id on every line) and the task's Slack budget (what Slack cannot answer in it is given up, never the task).
 * Errors keep their names: the state machine's Retry and Catch match on them.
 */
export function taskHandler<Schema extends z.ZodType, Output>(
  input: Schema,
  run: (deps: TaskDeps, input: z.output<Schema>) => Promise<Output>,
) {
  const raw =
    (deps: TaskDeps) =>
    (event: unknown): Promise<Output> =>
      run(deps, input.parse(event))
  const handler = middy((event: unknown) => {
    // Every line this invocation logs names its grant; the keys are reset after it.
    const grantId = (event as { grantId?: unknown } | null)?.grantId
    if (typeof grantId === 'string') logger.appendKeys({ grantId })
    return withSlackBudget(SLACK_BUDGET_MS.task, async () => raw((await awsDeps()).tasks)(event))
  }).use(injectLambdaContext(logger, { resetKeys: true }))
  return { raw, handler }
}
