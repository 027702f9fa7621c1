import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ACTIONS } from '../../shared/adapters/slack/actions.ts'
import { parseAccessCommand } from '../../shared/adapters/slack/command.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { grantIdFor } from '../../shared/core/grants/grant.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { advance, at, pendingGrant } from '../kit/grants.ts'
import { ALICE, BOB, workflowConfig } from '../kit/plane.ts'
import {
  anyText,
  buttonBody,
  commandBody,
  homeOpenedBody,
  newTrigger,
  type SlackRecorder,
  signed,
  startSlackRecorder,
} from '../kit/slack.ts'
import { ephemeralText, type SlackPlane, startSlackPlane } from '../kit/slack-plane.ts'

let slack: SlackRecorder
let plane: SlackPlane

beforeAll(async () => {
  slack = await startSlackRecorder()
  plane = await startSlackPlane({ slack })
})
afterAll(async () => {
  await plane?.close()
  await slack?.close()
})

const request = (text: string, user?: string, trigger?: string) => plane.command(text, user, trigger)

/** Resolves once keyless has sent `user` a DM that mentions `text`. */
const dmSaying = (grantId: string, user: string, text: string) =>
  plane.until(grantId, () =>
    slack
      .of('chat.postMessage')
      .some((call) => call.args.channel === user && JSON.stringify(call.args).includes(text)),
  )

const click = (user: string, action: string, value: string, channel?: string) =>
  plane.click(user, action, value, channel)

// Each test acts on grants of its own and looks only at the Slack calls that name them, so the
// tests run together; the one that makes Slack fail has a Slack of its own.
describe.concurrent('the Slack function (AwsLambdaReceiver, signed requests)', () => {
  it('records a request and answers in the response itself, with no Slack call before it', async ({
    expect,
  }) => {
    const { response, text, grantId } = await request('prod-db 30m fixing replication lag')
    expect(response.slackCallsBeforeResponse).toBe(0)
    expect(text).toContain(`Grant \`${grantId}\``)
    expect((await plane.db.store.get(grantId))?.status).toBe('PENDING')

    // The workflow's "Ask for approval" sends the approval message, off the request path.
    const grant = await plane.until(grantId, (current) => (current.slackMessages?.length ?? 0) === 4)
    const posted = slack.of('chat.postMessage').filter((call) => JSON.stringify(call.args).includes(grantId))
    expect(posted.map((call) => call.args.channel).sort()).toEqual([
      'C0APPROVALS',
      'U0BOB',
      'U0MANAGER1',
      'U0MANAGER2',
    ])
    expect(grant.slackMessages?.map((ref) => ref.channel).sort()).toEqual([
      'C0APPROVALS',
      'D0BOB',
      'D0MANAGER1',
      'D0MANAGER2',
    ])
    const blocks = JSON.stringify(posted[0]?.args.blocks)
    for (const expected of [
      '<@U0ALICE>',
      ALICE,
      'prod-db',
      'Production PostgreSQL hosts',
      '30m',
      'fixing replication lag',
      ACTIONS.approve,
      ACTIONS.deny,
    ]) {
      expect(blocks).toContain(expected)
    }
    // The buttons carry the grant id and nothing else.
    const values = ((posted[0]?.args.blocks ?? []) as { type: string; elements?: { value?: string }[] }[])
      .filter((block) => block.type === 'actions')
      .flatMap((block) => block.elements?.map((element) => element.value))
    expect(values).toEqual([grantId, grantId])
  })

  it('makes no second grant and no second message for a retried delivery', async ({ expect }) => {
    const trigger = newTrigger()
    const first = await plane.send(
      signed(commandBody('U0ALICE', 'prod-db 15m checking the replica', trigger)),
    )
    const grantId = grantIdFor(trigger)
    await plane.until(grantId, (grant) => (grant.slackMessages?.length ?? 0) === 4)
    const retry = await plane.send(
      signed(commandBody('U0ALICE', 'prod-db 15m checking the replica', trigger), { retryNum: 1 }),
    )
    expect(ephemeralText(retry)).toContain('recorded once')
    expect(ephemeralText(first)).not.toContain('recorded once')
    // Approval messages come only from "Ask for approval": it ran once, for the one execution.
    expect(plane.plane.workflow.executions.get(grantId)?.invocations.AskForApprovalFunctionArn).toBe(1)
    await plane.settled()
    expect(
      slack.of('chat.postMessage').filter((call) => JSON.stringify(call.args).includes(grantId)),
    ).toHaveLength(4)
    expect(
      (await plane.db.store.get(grantId))?.history.filter((entry) => entry.action === 'requested'),
    ).toHaveLength(1)
  })

  it('turns an approval into access, updating every copy and telling both sides', async ({ expect }) => {
    const { grantId } = await request('prod-db 1h migrating the replica')
    await plane.until(grantId, (grant) => (grant.slackMessages?.length ?? 0) === 4)
    const response = await click('U0MANAGER1', ACTIONS.approve, grantId, 'D0MANAGER1')
    expect(response).toMatchObject({ statusCode: 200, slackCallsBeforeResponse: 0 })
    const active = await plane.untilStatus(grantId, 'ACTIVE')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grantId))).toBeDefined()
    await plane.settled()
    await dmSaying(grantId, 'U0ALICE', 'aws ssm start-session')

    const updates = slack.of('chat.update').filter((call) => JSON.stringify(call.args).includes(grantId))
    const lastByCopy = new Map(updates.map((call) => [`${call.args.channel}/${call.args.ts}`, call]))
    expect([...lastByCopy.keys()]).toHaveLength(4)
    for (const update of lastByCopy.values()) {
      const shown = JSON.stringify(update.args.blocks)
      expect(shown).toContain('Approved by <@U0MANAGER1>')
      expect(shown).not.toContain(ACTIONS.approve) // the buttons are gone
    }
    const ephemeral = slack
      .of('chat.postEphemeral')
      .find((call) => JSON.stringify(call.args).includes(`You approved \`${grantId}\``))
    expect(ephemeral?.args).toMatchObject({ channel: 'D0MANAGER1', user: 'U0MANAGER1' })
    expect(active.approvals.map((approval) => approval.by)).toEqual(['U0MANAGER1'])

    // A second click, by anyone, is told who decided and when.
    await click('U0MANAGER2', ACTIONS.approve, grantId, 'D0MANAGER2')
    await plane.settled()
    const late = slack
      .of('chat.postEphemeral')
      .find((call) => call.args.user === 'U0MANAGER2' && JSON.stringify(call.args).includes(grantId))
    expect(JSON.stringify(late?.args)).toContain('was approved by <@U0MANAGER1>')
    expect((await plane.db.store.get(grantId))?.history.at(-1)).toMatchObject({
      action: 'refused',
      actor: { id: 'U0MANAGER2' },
    })

    // Revoked from App Home (no channel): the policy goes and the requester hears why.
    await click('U0ALICE', ACTIONS.revoke, grantId)
    await plane.untilStatus(grantId, 'REVOKED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grantId))).toBeUndefined()
    await plane.settled()
    await dmSaying(grantId, 'U0ALICE', 'revoked by <@U0ALICE>')
  })

  it('refuses self-approval, a non-approver and a click after the deadline, and records each', async ({
    expect,
  }) => {
    const { grantId } = await request('prod-db 30m routine')
    await plane.until(grantId, (grant) => grant.taskToken !== undefined)
    await click('U0ALICE', ACTIONS.approve, grantId, 'D0ALICE')
    await click('U0MALLORY', ACTIONS.approve, grantId, 'C0APPROVALS')
    await click('U0MALLORY', ACTIONS.deny, grantId, 'C0APPROVALS')
    await plane.settled()
    const grant = await plane.db.store.get(grantId)
    expect(grant?.status).toBe('PENDING')
    const refused = grant?.history.filter((entry) => entry.action === 'refused')
    expect(refused?.map((entry) => [entry.actor, entry.detail?.split(':')[0]])).toEqual([
      [{ kind: 'slack', id: 'U0ALICE' }, 'approve'],
      [{ kind: 'slack', id: 'U0MALLORY' }, 'approve'],
      [{ kind: 'slack', id: 'U0MALLORY' }, 'deny'],
    ])
    const told = slack.of('chat.postEphemeral').filter((call) => JSON.stringify(call.args).includes(grantId))
    expect(told.map((call) => call.args.user)).toEqual(['U0ALICE', 'U0MALLORY', 'U0MALLORY'])
    expect(JSON.stringify(told[0]?.args)).toContain('cannot approve your own request')
    expect(JSON.stringify(told[1]?.args)).toContain('not an approver of prod-db')

    // A request that timed out: the approver's late click is refused, named, and recorded.
    const timedOut = advance(pendingGrant(plane.config, { clientToken: newTrigger() }), [
      [{ type: 'time-out' }, { kind: 'system', id: 'workflow' }, at(1800)],
    ])
    await plane.db.store.create(timedOut)
    await click('U0MANAGER1', ACTIONS.approve, timedOut.id, 'D0MANAGER1')
    await plane.settled()
    const late = slack
      .of('chat.postEphemeral')
      .find((call) => JSON.stringify(call.args).includes(timedOut.id))
    expect(JSON.stringify(late?.args)).toContain(
      `Cannot approve ${timedOut.id}: it timed out undecided at 2026-11-23T10:30:00Z`,
    )
    expect((await plane.db.store.get(timedOut.id))?.history.at(-1)).toMatchObject({
      action: 'refused',
      actor: { kind: 'slack', id: 'U0MANAGER1' },
      from: 'TIMED_OUT',
      to: 'TIMED_OUT',
    })
  })

  it('denies: the requester is told, every copy says who denied, nothing is attached', async ({ expect }) => {
    const { grantId } = await request('prod-db 30m poking around')
    await plane.until(grantId, (grant) => (grant.slackMessages?.length ?? 0) === 4)
    await click('U0MANAGER2', ACTIONS.deny, grantId, 'C0APPROVALS')
    await plane.untilStatus(grantId, 'DENIED')
    await plane.settled()
    const toAlice = slack
      .of('chat.postMessage')
      .find((call) => call.args.channel === 'U0ALICE' && JSON.stringify(call.args).includes(grantId))
    expect(JSON.stringify(toAlice?.args)).toContain('Denied by <@U0MANAGER2>')
    const updated = new Set(
      slack
        .of('chat.update')
        .filter((call) => JSON.stringify(call.args).includes('Denied by <@U0MANAGER2>'))
        .map((call) => call.args.ts),
    )
    expect(updated.size).toBe(4)
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grantId))).toBeUndefined()
  })

  it('lets only the requester and the approvers revoke a grant', async ({ expect }) => {
    const { grantId } = await request('dev-web 1h deploying')
    await plane.untilStatus(grantId, 'ACTIVE')
    const refused = await request(`revoke ${grantId}`, 'U0MALLORY')
    expect(refused.text).toContain(`Only the requester or an approver of ${grantId} may revoke it`)
    expect((await plane.db.store.get(grantId))?.status).toBe('ACTIVE')
    const done = await request(`revoke ${grantId} done for today`, 'U0ALICE')
    expect(done.response.slackCallsBeforeResponse).toBe(0)
    expect(done.text).toContain(`Revoking \`${grantId}\``)
    const revoked = await plane.untilStatus(grantId, 'REVOKED')
    expect(revoked.revocation?.reason).toBe('done for today')
  })

  it('extends from the Extend button (auto-approved target) and asks approvers for an extension of prod-db', async ({
    expect,
  }) => {
    const { grantId: web } = await request('dev-web 30m deploying')
    const before = await plane.untilStatus(web, 'ACTIVE')
    await click('U0ALICE', `${ACTIONS.extend}:900`, `${web}:900`, 'D0ALICE')
    const extended = await plane.until(web, (grant) => grant.expiresAt !== before.expiresAt)
    expect(Date.parse(extended.expiresAt ?? '') - Date.parse(before.expiresAt ?? '')).toBe(900_000)

    const { grantId: db } = await request('prod-db 30m migrating')
    await plane.until(db, (grant) => grant.taskToken !== undefined)
    await click('U0MANAGER1', ACTIONS.approve, db, 'D0MANAGER1')
    await plane.untilStatus(db, 'ACTIVE')
    const asked = await request(`extend ${db} 30m`)
    expect(asked.text).toContain('for +30m')
    const withAsks = await plane.until(
      db,
      (grant) => (grant.slackMessages ?? []).filter((ref) => ref.asks === 'extension').length === 4,
    )
    expect(withAsks.extension?.durationSeconds).toBe(1800)
    await click('U0MANAGER2', ACTIONS.denyExtension, db, 'D0MANAGER2')
    await plane.settled()
    const denied = await plane.db.store.get(db)
    expect(denied?.extension).toBeUndefined()
    expect(denied?.expiresAt).toBe(withAsks.expiresAt)
    const toAlice = slack
      .of('chat.postMessage')
      .filter((call) => call.args.channel === 'U0ALICE' && JSON.stringify(call.args).includes(db))
    expect(JSON.stringify(toAlice)).toContain('denied more time')
    // A tampered Extend value naming a made-up grant changes nothing and says so.
    await click('U0ALICE', `${ACTIONS.extend}:900`, 'g-0000000000:900', 'D0ALICE')
    await plane.settled()
    expect(JSON.stringify(slack.of('chat.postEphemeral').at(-1)?.args)).toContain(
      'There is no grant g-0000000000',
    )
  })

  it('answers list, targets, help and cancel', async ({ expect }) => {
    const { grantId } = await request('prod-db 30m to be cancelled')
    expect((await request('list')).text).toContain(grantId)
    expect((await request('targets')).text).toContain('*prod-db* — Production PostgreSQL hosts')
    expect((await request('help')).text).toContain('/access prod-db 30m fixing replication lag')
    await plane.until(grantId, (grant) => grant.taskToken !== undefined)
    expect((await request(`cancel ${grantId}`, 'U0MANAGER1')).text).toContain(
      `Only the requester of ${grantId} may cancel it`,
    )
    expect((await request(`cancel ${grantId}`)).text).toContain(`Cancelled your request \`${grantId}\``)
    await plane.untilStatus(grantId, 'CANCELLED')
  })

  it('publishes App Home when it is opened, after the response', async ({ expect }) => {
    const response = await plane.send(
      signed(homeOpenedBody('U0MANAGER1'), { contentType: 'application/json' }),
    )
    expect(response).toMatchObject({ statusCode: 200, slackCallsBeforeResponse: 0 })
    await plane.settled()
    const published = slack
      .of('views.publish')
      .filter((call) => call.args.user_id === 'U0MANAGER1')
      .at(-1)
    expect((published?.args.view as { type?: string } | undefined)?.type).toBe('home')
  })

  it('checks the signature of a base64 body decoded as UTF-8, not ASCII', async ({ expect }) => {
    const body = homeOpenedBody('U0MANAGER2').replace('"tab":"home"', '"tab":"home","note":"Zürich → 東京"')
    const response = await plane.send(signed(body, { contentType: 'application/json' }), { base64: true })
    expect(response.statusCode).toBe(200)
  })
})

describe.concurrent('what the Slack function refuses', () => {
  it('answers a forged signature and a stale timestamp with 401, touching nothing', async ({ expect }) => {
    const trigger = newTrigger()
    const body = commandBody('U0ALICE', 'prod-db 30m x', trigger)
    const forged = signed(body, { secret: 'not-the-signing-secret' })
    const stale = signed(body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })
    const tampered = signed(body)
    for (const attempt of [forged, stale, { ...tampered, body: body.replace('30m', '2h') }]) {
      expect(await plane.send(attempt)).toMatchObject({ statusCode: 401, slackCallsBeforeResponse: 0 })
    }
    await plane.settled()
    expect(await plane.db.store.get(grantIdFor(trigger))).toBeUndefined()
    expect(plane.invocations.filter((event) => JSON.stringify(event).includes(trigger))).toEqual([])
  })

  it('answers an unsigned body that is not even JSON with 400, and an oversized one with 413', async ({
    expect,
  }) => {
    const garbage = { body: '{not json', headers: { 'content-type': 'application/json' } }
    expect((await plane.send(garbage)).statusCode).toBe(400)
    expect((await plane.send({ body: 'x'.repeat(300_000), headers: {} })).statusCode).toBe(413)
  })

  it('explains every bad command in an ephemeral reply, with an example, and writes nothing', async ({
    expect,
  }) => {
    const cases: [string, string, string?][] = [
      ['prod-dbb 30m typo', 'There is no target "prod-dbb". Targets: prod-db, dev-web'],
      ['prod-db 9h too long', "9h is over prod-db's maximum of 2h"],
      ['prod-db 30', 'has no unit: write 30m'],
      ['prod-db', 'Say how long you need prod-db for'],
      ['prod-db 1h --break-glass', 'needs a reason'],
      ['prod-db 1h because', "is not among the keyless config's people", 'U0STRANGER'],
      [`prod-db 1h ${'x'.repeat(501)}`, 'keep it under 500'],
      ['revoke nope', 'is not a grant id'],
      ['extend g-0000000000 30m', 'There is no grant g-0000000000'],
    ]
    for (const [text, expected, user] of cases) {
      const { text: answer, grantId, response } = await request(text, user)
      expect(answer, text).toContain(expected)
      expect(response.slackCallsBeforeResponse).toBe(0)
      expect(await plane.db.store.get(grantId), text).toBeUndefined()
    }
  })

  it('answers any text at all with 200 and an ephemeral reply, and writes a grant only for a valid request', async ({
    expect,
  }) => {
    const targets = new Set(plane.config.targets.keys())
    const word = fc.oneof(
      fc.constantFrom(
        'prod-db',
        'dev-web',
        'revoke',
        'extend',
        'cancel',
        '--break-glass',
        '30m',
        '9h',
        '<@U0BOB>',
        '<!here>',
        '&amp;',
        '\u202E',
        '\u0000',
      ),
      fc.string({ maxLength: 10 }),
      anyText(10),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 6 }), async (words) => {
        const text = words.join(' ')
        const trigger = newTrigger()
        const response = await plane.send(signed(commandBody('U0ALICE', text, trigger)))
        expect(response).toMatchObject({ statusCode: 200, slackCallsBeforeResponse: 0 })
        const body = JSON.parse(response.body) as { response_type: string; text: string }
        expect(body.response_type).toBe('ephemeral')
        // Whatever was typed comes back escaped: the only markup is keyless's own.
        expect(body.text.replace(/<(@U0[A-Z0-9]+|!date\^[^>]+)>/g, '')).not.toMatch(/[<>]/)
        const grant = await plane.db.store.get(grantIdFor(trigger))
        if (grant) expect(parseAccessCommand(text, targets).kind).toBe('request')
      }),
      // Each run is a whole Lambda invocation (and a workflow for a valid request); the parser
      // itself meets far more texts in test/unit/slack-command.test.ts.
      { numRuns: 16 },
    )
  })

  it('treats typed text as data: no mention, link or markup of it reaches Slack unescaped', async ({
    expect,
  }) => {
    const hostile =
      'prod-db 30m <!channel> <@U0MANAGER1> *bold* <https://evil.example|click> &amp; \u202Egnp.exe\u200B `tick`'
    const { grantId } = await request(hostile)
    const grant = await plane.until(grantId, (current) => (current.slackMessages?.length ?? 0) === 4)
    expect(grant.reason).toBe('<!channel> <@U0MANAGER1> *bold* <https://evil.example|click> & gnp.exe `tick`')
    const shown = JSON.stringify(
      slack.of('chat.postMessage').find((call) => JSON.stringify(call.args).includes(grantId))?.args.blocks,
    )
    expect(shown).toContain('&lt;!channel&gt; &lt;@U0MANAGER1&gt;')
    expect(shown).toContain('&lt;https://evil.example|click&gt; &amp;')
    expect(shown).not.toContain('<!channel>')
    expect(shown).not.toContain('\u202E')
  })
})

describe.concurrent('two approvers at once', () => {
  it('with approvals: 1, one decision; the other click is told it was already decided', async ({
    expect,
  }) => {
    const { grantId } = await request('prod-db 20m racing')
    await plane.until(grantId, (grant) => grant.taskToken !== undefined)
    await Promise.all([
      click('U0MANAGER1', ACTIONS.approve, grantId, 'D0MANAGER1'),
      click('U0MANAGER2', ACTIONS.approve, grantId, 'D0MANAGER2'),
    ])
    const grant = await plane.untilStatus(grantId, 'ACTIVE')
    expect(grant.approvals).toHaveLength(1)
    await plane.settled()
    const replies = slack
      .of('chat.postEphemeral')
      .filter((call) => JSON.stringify(call.args).includes(grantId))
    expect(replies).toHaveLength(2)
    expect(replies.filter((call) => JSON.stringify(call.args).includes('was approved by'))).toHaveLength(1)
  })

  it('with approvals: 2, both are counted, and each copy shows the first approval meanwhile', async ({
    expect,
  }) => {
    const raw = specConfigObject()
    raw.defaults.approvalTimeout = '10m'
    raw.targets['prod-db'].approvals = 2
    raw.people.U0BOB = { principal: BOB }
    const twoPerson = await startSlackPlane({ config: configFrom(raw), slack })
    try {
      const trigger = newTrigger()
      await twoPerson.send(signed(commandBody('U0ALICE', 'prod-db 20m two-person rule', trigger)))
      const grantId = grantIdFor(trigger)
      await twoPerson.until(grantId, (grant) => (grant.slackMessages?.length ?? 0) === 4)
      await twoPerson.send(signed(buttonBody('U0MANAGER1', ACTIONS.approve, grantId, 'D0MANAGER1')))
      await twoPerson.settled()
      const interim = slack.of('chat.update').filter((call) => JSON.stringify(call.args).includes(grantId))
      expect(new Set(interim.map((call) => call.args.ts)).size).toBe(4)
      for (const update of interim) {
        expect(JSON.stringify(update.args.blocks)).toContain('Approved by <@U0MANAGER1>')
        expect(JSON.stringify(update.args.blocks)).toContain(ACTIONS.approve) // still open for the second
      }
      await Promise.all([
        twoPerson.send(signed(buttonBody('U0MANAGER2', ACTIONS.approve, grantId, 'D0MANAGER2'))),
        twoPerson.send(signed(buttonBody('U0BOB', ACTIONS.approve, grantId, 'D0BOB'))),
      ])
      const grant = await twoPerson.untilStatus(grantId, 'ACTIVE')
      expect(grant.approvals.map((approval) => approval.by)[0]).toBe('U0MANAGER1')
      expect(grant.approvals).toHaveLength(2)
    } finally {
      await twoPerson.close()
    }
  })
})

describe('when Slack fails', () => {
  it('logs a failed message and goes on: access is attached and removed all the same', async ({ expect }) => {
    const failing = await startSlackRecorder()
    const flaky = await startSlackPlane({ config: workflowConfig(), slack: failing })
    try {
      failing.fail('chat.postMessage', 'channel_not_found', 1)
      failing.fail('views.publish', 'ratelimited', 5)
      const trigger = newTrigger()
      await flaky.send(signed(commandBody('U0ALICE', 'dev-web 2s quick look', trigger)))
      const grantId = grantIdFor(trigger)
      const ended = await flaky.until(grantId, (grant) => grant.status === 'EXPIRED')
      expect(ended.endedAt).toBeDefined()
      expect(flaky.backend.policyOf(ALICE, grantPolicyName(grantId))).toBeUndefined()
      expect(
        flaky.warnings.some((warning) => warning.includes('channel_not_found')),
        flaky.warnings.join('\n'),
      ).toBe(true)
      expect(flaky.warnings.some((warning) => warning.includes('ratelimited'))).toBe(true)
    } finally {
      await flaky.close()
      await failing.close()
    }
  })
})
