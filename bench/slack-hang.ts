/**
 * How long each workflow task takes while Slack accepts connections and never answers: the
 * real tasks in the local runner, Slack's client against a loopback API that hangs, with a
 * Slack budget of BUDGET_MS (in AWS a task's is SLACK_BUDGET_MS.task). A task with people to tell
 * takes its AWS work plus one budget at most; one without takes no longer than with Slack up.
 */
import { performance } from 'node:perf_hooks'
import type { GrantWorkflowTask } from '../functions/grant-workflow-tasks.ts'
import { WebSlackApi } from '../shared/adapters/slack/api.ts'
import { SLACK_BUDGET_MS } from '../shared/adapters/slack/budget.ts'
import { createSlackClient } from '../shared/adapters/slack/client.ts'
import { approveRequest, revokeGrant, submitRequest } from '../shared/core/grants/control.ts'
import { newClientToken } from '../shared/core/grants/grant.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { startPlaneWithSlack, workflowConfig } from '../test/kit/plane.ts'
import { untilGrant } from '../test/kit/poll.ts'
import { startSlackRecorder } from '../test/kit/slack.ts'
import { median, printTable } from './report.ts'

const BUDGET_MS = 1000
const GRANTS = 5

export async function slackHangTimes(): Promise<void> {
  const config = workflowConfig()
  const db = await startEmbeddedDynamo('keyless-bench-hang')
  const slack = await startSlackRecorder()
  slack.hang()
  const times = new Map<GrantWorkflowTask, number[]>()
  const slackApi = new WebSlackApi(createSlackClient('xoxb-bench', { slackApiUrl: slack.url }))
  const plane = await startPlaneWithSlack(db, slackApi, {
    config,
    slackBudgetMs: BUDGET_MS,
    intercept: (task, run) => async (payload) => {
      const started = performance.now()
      try {
        return await run(payload)
      } finally {
        times.set(task, [...(times.get(task) ?? []), performance.now() - started])
      }
    },
  })
  try {
    await Promise.all(
      Array.from({ length: GRANTS }, async () => {
        const { grant } = await submitRequest(plane.control, {
          clientToken: newClientToken(),
          target: 'prod-db',
          requester: 'U0ALICE',
          durationSeconds: 3600,
          reason: 'bench: Slack hangs',
        })
        await untilGrant(db.store, grant.id, (current) => current.taskToken !== undefined, 10_000)
        await approveRequest(plane.control, grant.id, { kind: 'slack', id: 'U0MANAGER1' })
        await untilGrant(db.store, grant.id, (current) => current.status === 'ACTIVE', 10_000)
        await revokeGrant(plane.control, grant.id, { kind: 'slack', id: 'U0ALICE' }, 'bench')
        await untilGrant(db.store, grant.id, (current) => current.status === 'REVOKED', 10_000)
        await plane.workflow.executions.get(grant.id)?.done
      }),
    )
  } finally {
    await plane.workflow.stop()
    await slack.close()
    await db.close()
  }
  printTable(
    [`task, with Slack hanging (budget ${BUDGET_MS} ms; ${GRANTS} grants)`, 'median', 'max', 'max / budget'],
    [...times].map(([task, samples]) => [
      task.replace(/FunctionArn$/, ''),
      `${median(samples).toFixed(0)} ms`,
      `${Math.max(...samples).toFixed(0)} ms`,
      (Math.max(...samples) / BUDGET_MS).toFixed(2),
    ]),
  )
  console.log(
    `in AWS: a task's Slack budget is ${SLACK_BUDGET_MS.task / 1000} s of its 60 s timeout, the alert function's ${SLACK_BUDGET_MS.alert / 1000} s of 30 s; Slack requests reached: ${slack.calls.length}`,
  )
}
