import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTIONS } from '../../shared/adapters/slack/actions.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { evaluate, evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { readRecord } from '../../shared/core/alerts/record.ts'
import { type Grant, grantIdFor } from '../../shared/core/grants/grant.ts'
import { access, assumedRole, startSession } from '../kit/cloudtrail.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { ALICE } from '../kit/plane.ts'
import {
  buttonBody,
  commandBody,
  newTrigger,
  type SlackRecorder,
  signed,
  startSlackRecorder,
} from '../kit/slack.ts'
import { type SlackPlane, startSlackPlane } from '../kit/slack-plane.ts'

/**
 * The attack suite: keyless from the outside in, as someone who wants access they were not
 * given would try it. Each attack is refused, recorded on the grant it touches, and changes
 * nothing else: no decision, no policy, no grant. (Forged and stale signatures, oversized
 * bodies, self-approval, concurrent approvers and typed markup are attacked in
 * test/integration/slack-lambda.test.ts; the granting roles in test/unit/infra.test.ts;
 * docs/threat-model.md maps every attack to its control and test.)
 */

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

const request = (text: string, user?: string) => plane.command(text, user)
/** Clicks in the approval channel, where refusals come back as ephemeral replies. */
const click = (user: string, action: string, value: string) => plane.click(user, action, value, 'C0APPROVALS')

/** What a person was told, in the ephemeral replies that name `text`. */
const toldAbout = (user: string, text: string) =>
  slack
    .of('chat.postEphemeral')
    .filter((call) => call.args.user === user && JSON.stringify(call.args).includes(text))
    .map((call) => JSON.stringify(call.args))

/** Whatever an attacker did, the grant moved only by refusals appended to its history. */
function onlyRefusalsSince(before: Grant, after: Grant | undefined): Grant['history'] {
  expect(after).toBeDefined()
  const { history: was, version: _v, taskToken: _t, slackMessages: _m, ...decided } = before
  const { history: is, version: _v2, taskToken: _t2, slackMessages: _m2, ...now } = after as Grant
  expect(now).toEqual(decided)
  expect(is.slice(0, was.length)).toEqual(was)
  const added = is.slice(was.length)
  for (const entry of added)
    expect(entry).toMatchObject({ action: 'refused', from: before.status, to: before.status })
  return added
}

describe.concurrent('attacks through Slack', () => {
  it('a replayed click is refused and recorded; a replayed command makes nothing new', async () => {
    const trigger = newTrigger()
    const command = signed(commandBody('U0ALICE', 'prod-db 30m replayed', trigger))
    await plane.send(command)
    await plane.send(command) // the same signed request, inside Slack's five-minute window
    const grantId = grantIdFor(trigger)
    await plane.until(grantId, (grant) => grant.taskToken !== undefined)
    const approval = signed(buttonBody('U0MANAGER1', ACTIONS.approve, grantId, 'C0APPROVALS'))
    await plane.send(approval)
    const approved = await plane.until(grantId, (grant) => grant.status !== 'PENDING')
    await plane.send(approval)
    await plane.settled()
    const after = await plane.db.store.get(grantId)
    expect(after?.history.filter((entry) => entry.action === 'requested')).toHaveLength(1)
    expect(after?.history.filter((entry) => entry.action === 'approved')).toHaveLength(1)
    expect(after?.history.at(-1)).toMatchObject({
      action: 'refused',
      actor: { kind: 'slack', id: 'U0MANAGER1' },
    })
    expect(approved.approvals).toEqual(after?.approvals)
  })

  it('someone keyless does not know can neither ask nor decide, revoke or extend', async () => {
    const nobody = await request('prod-db 30m let me in', 'U0NOBODY')
    expect(nobody.text).toContain("is not among the keyless config's people")
    expect(await plane.db.store.get(nobody.grantId)).toBeUndefined()

    const pending = await request('prod-db 30m real work')
    const active = await request('dev-web 1h deploying')
    const beforePending = await plane.until(pending.grantId, (grant) => grant.taskToken !== undefined)
    const beforeActive = await plane.until(
      active.grantId,
      (grant) => grant.status === 'ACTIVE' && grant.taskToken !== undefined,
    )
    const policy = plane.backend.policyOf(ALICE, grantPolicyName(active.grantId))

    await click('U0NOBODY', ACTIONS.approve, pending.grantId)
    await click('U0NOBODY', ACTIONS.deny, pending.grantId)
    await click('U0NOBODY', ACTIONS.revoke, active.grantId)
    await click('U0NOBODY', `${ACTIONS.extend}:3600`, `${active.grantId}:3600`)
    await plane.settled()

    const refusedPending = onlyRefusalsSince(beforePending, await plane.db.store.get(pending.grantId))
    const refusedActive = onlyRefusalsSince(beforeActive, await plane.db.store.get(active.grantId))
    expect(refusedPending.map((entry) => entry.detail?.split(':')[0])).toEqual(['approve', 'deny'])
    expect(refusedActive.map((entry) => entry.detail?.split(':')[0])).toEqual(['revoke', 'extend'])
    expect(plane.backend.policyOf(ALICE, grantPolicyName(active.grantId))).toEqual(policy)
    expect(plane.backend.policyOf(ALICE, grantPolicyName(pending.grantId))).toBeUndefined()
    expect(toldAbout('U0NOBODY', pending.grantId)).toHaveLength(2)
  })

  it('a button value edited to name another grant, or no grant, gains nothing', async () => {
    const target = await request('prod-db 30m someone else’s')
    const before = await plane.until(target.grantId, (grant) => grant.taskToken !== undefined)
    // Mallory approves nothing here: pointing her click at Alice's request is refused there.
    await click('U0MALLORY', ACTIONS.approve, target.grantId)
    for (const value of ['g-0000000000', `${target.grantId}"}]`, '../../etc/passwd', '']) {
      await click('U0MALLORY', ACTIONS.approve, value)
    }
    for (const value of [`${target.grantId}:99999999`, `${target.grantId}:-60`, `${target.grantId}`]) {
      await click('U0ALICE', `${ACTIONS.extend}:1800`, value)
    }
    await plane.settled()
    const refused = onlyRefusalsSince(before, await plane.db.store.get(target.grantId))
    expect(refused).toEqual([expect.objectContaining({ actor: { kind: 'slack', id: 'U0MALLORY' } })])
    expect(await plane.db.store.get('g-0000000000')).toBeUndefined()
  })

  it('policy variables and wildcards typed into a request never reach a policy', async () => {
    const typed = await request('dev-web 30m ${aws:username} ${ssm:resourceTag/x} * arn:aws:iam::*:role/*')
    const active = await plane.until(typed.grantId, (grant) => grant.status === 'ACTIVE')
    expect(active.reason).toBe('${aws:username} ${ssm:resourceTag/x} * arn:aws:iam::*:role/*')
    const policy = JSON.stringify(plane.backend.policyOf(ALICE, grantPolicyName(typed.grantId)))
    expect(policy).not.toContain('aws:username')
    expect(policy).not.toContain(':role/')
    // The only variable in a policy is keyless's own, scoping sessions to the caller.
    expect(policy.match(/\$\{[^}]*\}/g)?.every((variable) => variable === '${aws:userid}')).toBe(true)

    for (const [text, refusal] of [
      ['dev-web 30m${aws:x} x', '"30m${aws:x}" is not a duration'],
      ['dev-web ${aws:x} x', '"${aws:x}" is not a duration'],
      ['dev-web 1e9m x', '"1e9m" is not a duration'],
      ['* 30m x', 'There is no target "*"'],
    ] as const) {
      const refused = await request(text)
      expect(refused.text, text).toContain(refusal)
      expect(await plane.db.store.get(refused.grantId)).toBeUndefined()
    }
  })

  it('a deeply nested payload is answered, not crashed on, and writes nothing', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
    // Written by hand: JSON.stringify itself would overflow the stack on it.
    const payload = `{"type":"block_actions","user":{"id":"U0ALICE"},"trigger_id":"${newTrigger()}","actions":[{"action_id":"${ACTIONS.approve}","value":${deep}}]}`
    const response = await plane.send(signed(new URLSearchParams({ payload }).toString()))
    expect(response.statusCode).toBeLessThan(500)
    // An access record in every other way, its identity and target nested 5,000 deep: refused for them.
    const record = readRecord(
      JSON.parse(
        `{"eventVersion":"1.09","eventSource":"ssm.amazonaws.com","eventName":"StartSession","eventID":"e0000000-0000-4000-8000-00000000dead","eventTime":"2026-11-23T10:05:00Z","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.10","userIdentity":${deep},"requestParameters":{"target":${deep}}}`,
      ),
    )
    expect(record).toMatchObject({ kind: 'malformed', field: 'userIdentity' })
  })
})

type RawConfig = ReturnType<typeof specConfigObject>

describe('attacks through the config and CloudTrail', () => {
  it.each([
    [
      'a wildcard tag value',
      (c: RawConfig) => (c.targets['prod-db'].tagValue = '*'),
      'targets.prod-db.tagValue',
    ],
    [
      'a pattern tag value',
      (c: RawConfig) => (c.targets['prod-db'].tagValue = 'prod-*'),
      'targets.prod-db.tagValue',
    ],
    [
      'an empty tag value',
      (c: RawConfig) => (c.targets['prod-db'].tagValue = ''),
      'targets.prod-db.tagValue',
    ],
    ['a wildcard target', (c: RawConfig) => (c.targets['*'] = { access: ['shell'] }), 'targets'],
    [
      'a principal in another account',
      (c: RawConfig) => (c.people.U0ALICE.principal = 'arn:aws:iam::444455556666:role/alice-ops'),
      'people.U0ALICE.principal',
    ],
    [
      "keyless's own role",
      (c: RawConfig) =>
        (c.people.U0ALICE.principal = 'arn:aws:iam::111122223333:role/keyless/Keyless-AttachRole'),
      'people.U0ALICE.principal',
    ],
    [
      'every role',
      (c: RawConfig) => (c.people.U0ALICE.principal = 'arn:aws:iam::111122223333:role/*'),
      'people.U0ALICE.principal',
    ],
  ])('a config with %s is refused at validation, naming the field', (_, poison, path) => {
    const raw = specConfigObject()
    poison(raw)
    expect(() => configFrom(raw)).toThrow(path)
  })

  it('an access from inside AWS, by keyless’s own role, without MFA, still alerts', async () => {
    const PROD_INSTANCE = 'i-0123456789abcdef0'
    const internal = access(
      startSession({
        userIdentity: assumedRole('Keyless-RevokeRole', 'x', { mfa: false, path: '/keyless/' }),
        sourceIPAddress: 'AWS Internal',
        requestParameters: { target: PROD_INSTANCE },
      }),
    )
    const inventory = { tagValues: async () => new Map([[PROD_INSTANCE, 'prod-db']]) }
    const verdict = await evaluate(internal, evaluationContext(plane.config, inventory, plane.db.store))
    // An origin inside AWS is no network to judge, but nobody's grant covers this access.
    expect(verdict.findings.map((finding) => finding.rule).sort()).toEqual(['NO_ACTIVE_GRANT', 'NO_MFA'])
  })
})
