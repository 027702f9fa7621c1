import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTIONS } from '../../shared/adapters/slack/actions.ts'
import { WebSlackApi } from '../../shared/adapters/slack/api.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { SlackNotifier } from '../../shared/adapters/slack/notifier.ts'
import type { Clock } from '../../shared/core/clock.ts'
import { decide } from '../../shared/core/grants/lifecycle.ts'
import { specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { at, manager1, pendingGrant, workflow } from '../kit/grants.ts'
import { type SlackRecorder, startSlackRecorder } from '../kit/slack.ts'

/** The Slack notifier over the embedded DynamoDB and a loopback Web API: what each person ends up seeing. */

const config = specConfig()
let db: EmbeddedDynamo
let slack: SlackRecorder
let notifier: SlackNotifier
const clock: Clock = { now: () => at(120) }

beforeAll(async () => {
  db = await startEmbeddedDynamo('slack-notifier')
  slack = await startSlackRecorder()
  notifier = new SlackNotifier({
    config,
    store: db.store,
    slack: new WebSlackApi(createSlackClient('xoxb-test', { slackApiUrl: slack.url })),
    clock,
    warn: () => {},
  })
})
afterAll(async () => {
  await slack?.close()
  await db?.close()
})

const lastHomeOf = (user: string) =>
  JSON.stringify(slack.of('views.publish').findLast((call) => call.args.user_id === user)?.args.view)

describe('the Slack notifier', () => {
  it('publishes an empty App Home too: a decided request leaves no Approve button behind', async () => {
    const { grant } = await db.store.create(pendingGrant(config, { clientToken: 'notifier-home' }))
    await notifier.send({ kind: 'approval-requested', grant })
    expect(lastHomeOf('U0MANAGER2')).toContain(ACTIONS.approve)

    const decided = await db.store.transition(grant, decide(grant, { type: 'approve' }, manager1, at(60)))
    const published = slack.of('views.publish').length
    await notifier.send({ kind: 'grant-updated', grant: decided })
    expect(slack.of('views.publish').length).toBeGreaterThan(published)
    expect(lastHomeOf('U0MANAGER2')).not.toContain(ACTIONS.approve)
    expect(lastHomeOf('U0MANAGER2')).not.toContain('Waiting for your decision')
  })

  it('announces an auto-approved grant in the approval channel, once', async () => {
    const { grant: requested } = await db.store.create(
      pendingGrant(config, { clientToken: 'notifier-auto', target: 'dev-web' }),
    )
    expect(requested.status).toBe('APPROVED')
    const active = await db.store.transition(
      requested,
      decide(requested, { type: 'activate' }, workflow, at(10)),
    )
    const announced = () =>
      slack
        .of('chat.postMessage')
        .filter(
          (call) => call.args.channel === 'C0APPROVALS' && JSON.stringify(call.args).includes(active.id),
        )
    await notifier.send({ kind: 'access-active', grant: active, instructions: ['Access is active.'] })
    await notifier.send({ kind: 'access-active', grant: active, instructions: ['Access is active.'] })
    expect(announced()).toHaveLength(1)
    expect(JSON.stringify(announced()[0]?.args.blocks)).toContain('Auto-approved')
    expect(JSON.stringify(announced()[0]?.args.blocks)).not.toContain(ACTIONS.approve)
    expect((await db.store.get(active.id))?.slackMessages).toMatchObject([{ channel: 'C0APPROVALS' }])
  })
})
