import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { WebSlackApi } from '../../shared/adapters/slack/api.ts'
import { withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { SlackSecurityChannel } from '../../shared/adapters/slack/security-channel.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { AlertService } from '../../shared/core/alerts/service.ts'
import { addSeconds, type Clock } from '../../shared/core/clock.ts'
import { approveRequest, revokeGrant, submitRequest } from '../../shared/core/grants/control.ts'
import { newClientToken } from '../../shared/core/grants/grant.ts'
import { access, startSession } from '../kit/cloudtrail.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { ALICE, INSTANCES, startPlaneWithSlack, workflowConfig } from '../kit/plane.ts'
import { untilGrant } from '../kit/poll.ts'
import { type SlackRecorder, startSlackRecorder } from '../kit/slack.ts'

/**
 * A Slack that accepts connections and never answers, under the real tasks in the local
 * workflow and the alert service: each invocation's Slack calls share one budget (here 300 ms),
 * the work that does not need Slack is done regardless, and nothing is sent twice.
 */

const BUDGET_MS = 300
const config = workflowConfig()
let db: EmbeddedDynamo

beforeAll(async () => {
  db = await startEmbeddedDynamo('slack-hang')
})
afterAll(async () => {
  await db?.close()
})

/** A loopback Slack Web API that takes every request and answers none (each test its own). */
async function hangingSlack(): Promise<SlackRecorder> {
  const slack = await startSlackRecorder()
  slack.hang()
  return slack
}

describe.concurrent('a Slack that never answers', () => {
  it('holds up no request, attachment or revocation, and each task sends one request at most', async () => {
    const slack = await hangingSlack()
    const slackApi = new WebSlackApi(createSlackClient('xoxb-test', { slackApiUrl: slack.url }))
    const plane = await startPlaneWithSlack(db, slackApi, { config, slackBudgetMs: BUDGET_MS })
    const { backend, warnings } = plane
    const sentFor = (grantId: string) =>
      slack.calls.filter((call) => JSON.stringify(call.args).includes(grantId)).length
    try {
      const { grant } = await submitRequest(plane.control, {
        clientToken: newClientToken(),
        target: 'prod-db',
        requester: 'U0ALICE',
        durationSeconds: 3600,
        reason: 'replication lag',
      })
      // The token is stored before anyone is asked: the request waits for its decision.
      await untilGrant(db.store, grant.id, (current) => current.taskToken !== undefined, 5000)
      await approveRequest(plane.control, grant.id, { kind: 'slack', id: 'U0MANAGER1' })
      const active = await untilGrant(db.store, grant.id, (current) => current.status === 'ACTIVE', 5000)
      expect(backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeDefined()
      await revokeGrant(plane.control, grant.id, { kind: 'slack', id: 'U0ALICE' }, 'done')
      const ended = await untilGrant(db.store, grant.id, (current) => current.status === 'REVOKED', 5000)
      expect(backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
      expect(ended.expiresAt).toBe(active.expiresAt)
      expect(await plane.workflow.executions.get(grant.id)?.done).toEqual({ status: 'SUCCEEDED' })

      // Three tasks had people to tell (ask, attach, revoke): the first request of each went
      // out and hung; every later call of the same task was given up unsent.
      expect(sentFor(grant.id)).toBe(3)
      expect(warnings.some((line) => line.includes("not sent: this invocation's 0.3 s Slack budget"))).toBe(
        true,
      )
      expect(
        warnings.some((line) => line.includes("Slack did not answer within this invocation's 0.3 s")),
      ).toBe(true)
    } finally {
      await plane.workflow.stop()
      await slack.close()
    }
  })

  it('posts a security alert at most once; the sweep after the claim runs out posts it', async () => {
    const slack = await hangingSlack()
    onTestFinished(() => slack.close())
    let now = new Date('2026-11-23T10:05:00Z')
    const clock: Clock = { now: () => now }
    const verdicts = new DynamoVerdictStore(db.client, db.tableName)
    const warnings: string[] = []
    const alerts = new AlertService({
      context: evaluationContext(config, new LocalAccessBackend(INSTANCES), db.store),
      grants: db.store,
      verdicts,
      securityChannel: new SlackSecurityChannel(
        new WebSlackApi(createSlackClient('xoxb-test', { slackApiUrl: slack.url })),
        config.slack.securityChannel,
      ),
      clock,
      warn: (message) => warnings.push(message),
    })
    const event = access(
      startSession({
        eventID: 'hang-0000-4000-8000-000000000001',
        sourceIPAddress: '198.51.100.7',
        eventTime: '2026-11-23T10:04:00Z',
      }),
    )
    const alertPosts = () =>
      slack.of('chat.postMessage').filter((call) => call.args.channel === config.slack.securityChannel)

    // One invocation: the alert's post hangs until the budget ends; its sweep posts nothing again.
    const first = await withSlackBudget(BUDGET_MS, async () => {
      const handled = await alerts.handle(event)
      await alerts.sender.sweepIfDue()
      return handled
    })
    expect(first.alert).toBe('unsent')
    expect(alertPosts()).toHaveLength(1)
    const held = await verdicts.get(event.eventId)
    expect(held).toMatchObject({ alert: 'unsent', attempts: 1 })
    expect(held?.lastError).toBe("Slack did not answer within this invocation's 0.3 s Slack budget")

    // Another sender while the claim holds (Slack may have posted it): nothing is sent.
    expect(await withSlackBudget(BUDGET_MS, () => alerts.sender.claimAndPost(event.eventId))).toBe(
      'in-progress',
    )
    expect(alertPosts()).toHaveLength(1)

    // Slack answers again and the claim has run out: the next sweep posts it, once.
    slack.hang(false)
    now = addSeconds(now, 61)
    expect(await withSlackBudget(BUDGET_MS, () => alerts.sender.sendUnsent())).toEqual({
      posted: 1,
      left: false,
    })
    expect(alertPosts()).toHaveLength(2)
    expect(await verdicts.get(event.eventId)).toMatchObject({ alert: 'sent', attempts: 2 })
  })
})
