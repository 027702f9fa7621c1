import { describe, expect, it } from 'vitest'
import { KeylessError } from '../../shared/core/errors.ts'
import { GRANT_ID_PATTERN, type Grant, grantIdFor } from '../../shared/core/grants/grant.ts'
import {
  applyTransition,
  approversStillWaitedOn,
  decide,
  type GrantEvent,
  requestGrant,
} from '../../shared/core/grants/lifecycle.ts'
import { configFrom, organizationConfigObject, specConfig, specConfigObject } from '../kit/config.ts'
import {
  activeGrant,
  advance,
  alice,
  aliceRequest,
  at,
  bob,
  mallory,
  manager1,
  manager2,
  operator,
  pendingGrant,
  reconciler,
  T0,
  workflow,
} from '../kit/grants.ts'
import { refusal } from '../kit/refusal.ts'

const config = specConfig()

describe('requesting a grant', () => {
  it('starts PENDING, with its approvers and deadline fixed at request time', () => {
    const grant = pendingGrant(config)
    expect(grant).toMatchObject({
      target: 'prod-db',
      requester: 'U0ALICE',
      principal: 'arn:aws:iam::111122223333:role/alice-ops',
      reason: 'fixing replication lag',
      durationSeconds: 1800,
      status: 'PENDING',
      version: 1,
      approvers: ['U0MANAGER1', 'U0MANAGER2', 'U0BOB'],
      requiredApprovals: 1,
      maxDurationSeconds: 7200,
      requestedAt: '2026-11-23T10:00:00Z',
      decideBy: '2026-11-23T10:30:00Z',
      approvals: [],
      history: [{ at: '2026-11-23T10:00:00Z', actor: alice, action: 'requested', from: null, to: 'PENDING' }],
    })
    expect(grant.activatedAt).toBeUndefined()
    expect(grant.expiresAt).toBeUndefined()
  })

  it('derives the id from the client token, so a replay names the same grant', () => {
    const first = requestGrant(aliceRequest({ clientToken: 'trigger-x' }), config, T0)
    const replay = requestGrant(aliceRequest({ clientToken: 'trigger-x' }), config, at(2))
    expect(replay.id).toBe(first.id)
    expect(first.id).toMatch(GRANT_ID_PATTERN)
    expect(grantIdFor('trigger-y')).not.toBe(first.id)
  })

  it('auto-approves a target that says so', () => {
    const grant = pendingGrant(config, { target: 'dev-web' })
    expect(grant.status).toBe('APPROVED')
    expect(grant.history.map((entry) => [entry.action, entry.actor])).toEqual([
      ['requested', alice],
      ['auto-approved', workflow],
    ])
  })

  it('approves break-glass at once and records it as the requester’s own act', () => {
    const grant = pendingGrant(config, { breakGlass: true, reason: 'outage, pager #123' })
    expect(grant.status).toBe('APPROVED')
    expect(grant.breakGlass).toBe(true)
    expect(grant.history.at(-1)).toMatchObject({ action: 'break-glass', actor: alice, to: 'APPROVED' })
  })

  it.each([
    [
      'an unknown target',
      { target: 'prod-dbx' },
      'UNKNOWN_TARGET',
      'There is no target "prod-dbx". Targets: prod-db, dev-web.',
    ],
    [
      'a duration over the maximum',
      { durationSeconds: 3 * 3600 },
      'DURATION_OVER_LIMIT',
      "3h is over prod-db's maximum of 2h; ask for 2h or less.",
    ],
    [
      'a zero duration',
      { durationSeconds: 0 },
      'INVALID_DURATION',
      'A grant needs a positive duration, such as 30m.',
    ],
    [
      'a fractional duration',
      { durationSeconds: 1.5 },
      'INVALID_DURATION',
      'A grant needs a positive duration, such as 30m.',
    ],
    [
      'an unknown person',
      { requester: 'U0MALLORY' },
      'UNKNOWN_PERSON',
      "<@U0MALLORY> is not among the keyless config's people (people.U0MALLORY: an AWS principal or an Identity Center user); ask an admin to add you.",
    ],
    [
      'break-glass without a reason',
      { breakGlass: true, reason: '  ' },
      'INVALID_REQUEST',
      'Break-glass access needs a reason: it is reviewed by security.',
    ],
    [
      'a reason too long',
      { reason: 'x'.repeat(501) },
      'INVALID_REQUEST',
      'The reason is 501 characters; keep it under 500.',
    ],
  ])('refuses %s', (_, overrides, code, message) => {
    expect(refusal(() => pendingGrant(config, overrides))).toEqual({ code, message })
  })

  it('refuses a request nobody could approve, instead of leaving it to time out', () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvers = ['U0MANAGER1']
    raw.targets['prod-db'].approvals = 2
    delete raw.people.U0ALICE.manager
    raw.people.U0MANAGER1 = { principal: 'arn:aws:iam::111122223333:role/m1' }
    // Bob's manager makes two approvals reachable for him: the config stands, Alice's request cannot.
    raw.people.U0BOB = { principal: 'arn:aws:iam::111122223333:role/bob-ops', manager: 'U0MANAGER2' }
    const lonely = configFrom(raw)
    expect(refusal(() => pendingGrant(lonely))).toEqual({
      code: 'NO_POSSIBLE_APPROVER',
      message:
        'prod-db needs 2 approval(s), but only 1 person(s) other than you may approve; ask an admin to add approvers or a manager for you.',
    })
  })
})

describe('deciding a request', () => {
  it('approves on an approver’s word, recording who and when', () => {
    const grant = advance(pendingGrant(config), [[{ type: 'approve' }, manager1, at(10)]])
    expect(grant.status).toBe('APPROVED')
    expect(grant.version).toBe(2)
    expect(grant.approvals).toEqual([{ by: 'U0MANAGER1', at: '2026-11-23T10:00:10Z' }])
    expect(grant.history.at(-1)).toEqual({
      at: '2026-11-23T10:00:10Z',
      actor: manager1,
      action: 'approved',
      from: 'PENDING',
      to: 'APPROVED',
    })
  })

  it('lets the requester’s manager approve', () => {
    expect(advance(pendingGrant(config), [[{ type: 'approve' }, bob, at(10)]]).status).toBe('APPROVED')
  })

  it('refuses self-approval even from a listed approver', () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvers = ['U0ALICE', 'U0MANAGER1']
    const grant = pendingGrant(configFrom(raw))
    expect(grant.approvers).not.toContain('U0ALICE')
    expect(refusal(() => decide(grant, { type: 'approve' }, alice, at(5)))).toEqual({
      code: 'SELF_APPROVAL',
      message: `You cannot approve your own request ${grant.id}.`,
    })
  })

  it('refuses a non-approver and a non-person', () => {
    const grant = pendingGrant(config)
    expect(refusal(() => decide(grant, { type: 'approve' }, mallory, at(5)))).toEqual({
      code: 'NOT_AN_APPROVER',
      message: `You are not an approver of prod-db, so you cannot approve ${grant.id}.`,
    })
    expect(refusal(() => decide(grant, { type: 'approve' }, operator, at(5))).code).toBe('NOT_ALLOWED')
    expect(refusal(() => decide(grant, { type: 'deny' }, workflow, at(5))).code).toBe('NOT_ALLOWED')
  })

  it('lets an operator deny a request (an incident), never approve one', () => {
    const grant = pendingGrant(config)
    const denied = decide(grant, { type: 'deny', reason: 'incident 7' }, operator, at(5))
    expect(denied).toMatchObject({ to: 'DENIED', entry: { actor: operator, detail: 'incident 7' } })
    expect(refusal(() => decide(grant, { type: 'approve' }, operator, at(5))).code).toBe('NOT_ALLOWED')
  })

  it('refuses a second decision on a decided request, naming the first', () => {
    const approved = advance(pendingGrant(config), [[{ type: 'approve' }, manager1, at(10)]])
    expect(refusal(() => decide(approved, { type: 'deny' }, manager2, at(20)))).toEqual({
      code: 'ALREADY_DECIDED',
      message: `Cannot deny ${approved.id}: it was approved by <@U0MANAGER1> at 2026-11-23T10:00:10Z and is being activated.`,
    })
    const denied = advance(pendingGrant(config), [[{ type: 'deny', reason: 'not now' }, manager1, at(10)]])
    expect(denied.status).toBe('DENIED')
    expect(denied.history.at(-1)?.detail).toBe('not now')
    expect(refusal(() => decide(denied, { type: 'approve' }, manager2, at(20)))).toEqual({
      code: 'ALREADY_DECIDED',
      message: `Cannot approve ${denied.id}: it was denied by <@U0MANAGER1> at 2026-11-23T10:00:10Z.`,
    })
  })

  it('refuses an approval that arrives after the deadline', () => {
    const grant = pendingGrant(config)
    expect(refusal(() => decide(grant, { type: 'approve' }, manager1, at(1800)))).toEqual({
      code: 'REQUEST_EXPIRED',
      message: `${grant.id} was not decided in time (by 2026-11-23T10:30:00Z); ask for a new one.`,
    })
    expect(decide(grant, { type: 'approve' }, manager1, at(1799)).to).toBe('APPROVED')
  })

  it('needs distinct approvers under the two-person rule', () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvals = 2
    const grant = pendingGrant(configFrom(raw))
    const once = advance(grant, [[{ type: 'approve' }, manager1, at(10)]])
    expect(once.status).toBe('PENDING')
    expect(once.history.at(-1)?.action).toBe('approval-recorded')
    expect(refusal(() => decide(once, { type: 'approve' }, manager1, at(20)))).toEqual({
      code: 'ALREADY_APPROVED',
      message: `You have already approved ${grant.id}; it needs another approver.`,
    })
    const twice = advance(once, [[{ type: 'approve' }, manager2, at(20)]])
    expect(twice.status).toBe('APPROVED')
    expect(twice.approvals.map((approval) => approval.by)).toEqual(['U0MANAGER1', 'U0MANAGER2'])
  })

  it('lets only the requester cancel', () => {
    const grant = pendingGrant(config)
    expect(refusal(() => decide(grant, { type: 'cancel' }, manager1, at(5)))).toEqual({
      code: 'NOT_ALLOWED',
      message: `Only the requester of ${grant.id} may cancel it.`,
    })
    expect(advance(grant, [[{ type: 'cancel' }, alice, at(5)]])).toMatchObject({
      status: 'CANCELLED',
      endedAt: '2026-11-23T10:00:05Z',
    })
  })

  it('times out only at the deadline, and only by keyless itself', () => {
    const grant = pendingGrant(config)
    expect(refusal(() => decide(grant, { type: 'time-out' }, workflow, at(1799))).code).toBe('INVALID_STATE')
    expect(refusal(() => decide(grant, { type: 'time-out' }, manager1, at(1800))).code).toBe('NOT_ALLOWED')
    expect(advance(grant, [[{ type: 'time-out' }, workflow, at(1800)]]).status).toBe('TIMED_OUT')
  })
})

describe('active access', () => {
  it('starts the clock when access is attached, not when it was requested', () => {
    const grant = activeGrant(config)
    expect(grant).toMatchObject({
      status: 'ACTIVE',
      activatedAt: '2026-11-23T10:01:00Z',
      expiresAt: '2026-11-23T10:31:00Z',
      version: 3,
    })
  })

  it('truncates activation to the whole second', () => {
    const approved = advance(pendingGrant(config), [[{ type: 'approve' }, bob, at(30)]])
    const active = advance(approved, [[{ type: 'activate' }, workflow, new Date('2026-11-23T10:01:00.999Z')]])
    expect(active.expiresAt).toBe('2026-11-23T10:31:00Z')
  })

  it('is activated only by keyless, only once approved', () => {
    const grant = pendingGrant(config)
    expect(refusal(() => decide(grant, { type: 'activate' }, workflow, at(5)))).toEqual({
      code: 'INVALID_STATE',
      message: `Cannot activate ${grant.id}: it is waiting for approval.`,
    })
    const approved = advance(grant, [[{ type: 'approve' }, bob, at(30)]])
    expect(refusal(() => decide(approved, { type: 'activate' }, operator, at(40))).code).toBe('NOT_ALLOWED')
    expect(
      advance(approved, [[{ type: 'fail-activation', reason: 'AccessDenied' }, workflow, at(40)]]),
    ).toMatchObject({
      status: 'FAILED',
    })
  })

  it('expires only at its expiry', () => {
    const grant = activeGrant(config)
    expect(refusal(() => decide(grant, { type: 'end' }, workflow, at(60 + 1799)))).toEqual({
      code: 'NOT_YET_EXPIRED',
      message: `${grant.id} has not expired and nobody revoked it; it cannot end yet.`,
    })
    expect(advance(grant, [[{ type: 'end' }, workflow, at(60 + 1800)]])).toMatchObject({
      status: 'EXPIRED',
      endedAt: '2026-11-23T10:31:00Z',
    })
  })

  it.each([
    ['the requester', alice],
    ['an approver', manager2],
    ['an operator', operator],
  ])('is revoked early by %s', (_, actor) => {
    const requested = advance(activeGrant(config), [
      [{ type: 'request-revocation', reason: 'done' }, actor, at(300)],
    ])
    expect(requested.status).toBe('ACTIVE')
    expect(requested.revocation).toEqual({ by: actor, at: '2026-11-23T10:05:00Z', reason: 'done' })
    const revoked = advance(requested, [[{ type: 'end' }, workflow, at(302)]])
    expect(revoked.status).toBe('REVOKED')
    expect(revoked.history.map((entry) => entry.action)).toEqual([
      'requested',
      'approved',
      'activated',
      'revocation-requested',
      'revoked',
    ])
  })

  it('refuses revocation by anyone else, and a second revocation', () => {
    const grant = activeGrant(config)
    expect(refusal(() => decide(grant, { type: 'request-revocation' }, mallory, at(300)))).toEqual({
      code: 'NOT_ALLOWED',
      message: `Only the requester or an approver of ${grant.id} may revoke it.`,
    })
    const requested = advance(grant, [[{ type: 'request-revocation' }, alice, at(300)]])
    expect(refusal(() => decide(requested, { type: 'request-revocation' }, manager1, at(301)))).toEqual({
      code: 'ALREADY_DECIDED',
      message: `${grant.id} is already being revoked (by <@U0ALICE>).`,
    })
    expect(refusal(() => decide(grant, { type: 'end' }, alice, at(301))).code).toBe('NOT_ALLOWED')
  })

  it('keeps a grant revoked before attachment from activating', () => {
    const approved = advance(pendingGrant(config), [
      [{ type: 'approve' }, bob, at(30)],
      [{ type: 'request-revocation' }, alice, at(31)],
    ])
    expect(refusal(() => decide(approved, { type: 'activate' }, workflow, at(32))).code).toBe('INVALID_STATE')
    expect(advance(approved, [[{ type: 'end' }, workflow, at(33)]]).status).toBe('REVOKED')
  })

  it('marks a failed revocation for an operator, then ends once removal succeeds', () => {
    const failed = advance(activeGrant(config), [
      [{ type: 'fail-revocation', reason: 'Throttling' }, workflow, at(1860)],
    ])
    expect(failed.status).toBe('REVOKE_FAILED')
    expect(
      refusal(() => decide(failed, { type: 'fail-revocation', reason: 'x' }, operator, at(1900))).code,
    ).toBe('NOT_ALLOWED')
    expect(advance(failed, [[{ type: 'end' }, reconciler, at(1920)]]).status).toBe('EXPIRED')
  })
})

describe('extensions', () => {
  const request = (grant: Grant, seconds: number, actor = alice, now = at(600)) =>
    advance(grant, [[{ type: 'request-extension', durationSeconds: seconds }, actor, now]])

  it('extends from the current expiry once approved', () => {
    const asked = request(activeGrant(config), 1800)
    expect(asked.extension).toEqual({
      durationSeconds: 1800,
      requestedAt: '2026-11-23T10:10:00Z',
      approvals: [],
    })
    expect(asked.expiresAt).toBe('2026-11-23T10:31:00Z')
    const extended = advance(asked, [[{ type: 'approve-extension' }, manager1, at(620)]])
    expect(extended.expiresAt).toBe('2026-11-23T11:01:00Z')
    expect(extended.extension).toBeUndefined()
    expect(extended.history.at(-1)).toMatchObject({
      action: 'extended',
      detail: 'until 2026-11-23T11:01:00Z',
    })
  })

  it('never reaches past the maximum counted from activation, and says how much is left', () => {
    const grant = activeGrant(config)
    expect(refusal(() => request(grant, 5400 + 1))).toEqual({
      code: 'EXTENSION_OVER_LIMIT',
      message: "+1h30m1s would run past prod-db's maximum of 2h from activation; at most +1h30m is possible.",
    })
    expect(request(grant, 5400).extension?.durationSeconds).toBe(5400)
  })

  it('is asked for by the requester only, one at a time, and approved by an approver', () => {
    const grant = activeGrant(config)
    expect(refusal(() => request(grant, 600, manager1)).code).toBe('NOT_ALLOWED')
    const asked = request(grant, 600)
    expect(refusal(() => request(asked, 600)).code).toBe('EXTENSION_PENDING')
    expect(refusal(() => decide(asked, { type: 'approve-extension' }, alice, at(610))).code).toBe(
      'SELF_APPROVAL',
    )
    expect(refusal(() => decide(asked, { type: 'approve-extension' }, mallory, at(610))).code).toBe(
      'NOT_AN_APPROVER',
    )
    expect(refusal(() => decide(grant, { type: 'approve-extension' }, manager1, at(610))).code).toBe(
      'NO_EXTENSION_PENDING',
    )
    const denied = advance(asked, [[{ type: 'deny-extension', reason: 'wrap up' }, manager1, at(620)]])
    expect(denied.extension).toBeUndefined()
    expect(denied.expiresAt).toBe(grant.expiresAt)
  })

  it('is approved by keyless itself on an auto-approve target', () => {
    const grant = advance(pendingGrant(config, { target: 'dev-web' }), [
      [{ type: 'activate' }, workflow, at(5)],
    ])
    const asked = request(grant, 600)
    expect(advance(asked, [[{ type: 'approve-extension' }, workflow, at(610)]]).expiresAt).toBe(
      '2026-11-23T10:40:05Z',
    )
  })

  it('cannot extend a grant that is not active', () => {
    expect(refusal(() => request(pendingGrant(config), 600)).code).toBe('INVALID_STATE')
  })
})

describe('applying a transition', () => {
  it('changes only what the transition names, bumps the version and appends one history entry', () => {
    const grant = activeGrant(config)
    const transition = decide(grant, { type: 'request-extension', durationSeconds: 600 }, alice, at(600))
    const next = applyTransition(grant, transition)
    const { extension, version, history, ...rest } = next
    const { version: oldVersion, history: oldHistory, ...oldRest } = grant
    expect(rest).toEqual(oldRest)
    expect(version).toBe(oldVersion + 1)
    expect(history).toEqual([...oldHistory, transition.entry])
    expect(extension).toBeDefined()
  })

  it('leaves the input grant untouched', () => {
    const grant = activeGrant(config)
    const snapshot = structuredClone(grant)
    applyTransition(grant, decide(grant, { type: 'request-revocation' }, alice, at(600)))
    expect(grant).toEqual(snapshot)
  })

  it('refuses every event in every final state', () => {
    const events: GrantEvent[] = [
      { type: 'approve' },
      { type: 'deny' },
      { type: 'cancel' },
      { type: 'time-out' },
      { type: 'activate' },
      { type: 'request-revocation' },
      { type: 'end' },
      { type: 'request-extension', durationSeconds: 60 },
    ]
    const finals = [
      advance(pendingGrant(config), [[{ type: 'deny' }, manager1, at(5)]]),
      advance(pendingGrant(config), [[{ type: 'cancel' }, alice, at(5)]]),
      advance(pendingGrant(config), [[{ type: 'time-out' }, workflow, at(1800)]]),
      advance(activeGrant(config), [[{ type: 'end' }, workflow, at(1860)]]),
    ]
    for (const grant of finals) {
      for (const event of events) {
        for (const actor of [alice, manager1, workflow, operator]) {
          expect(() => decide(grant, event, actor, at(4000)), `${event.type} on ${grant.status}`).toThrow(
            KeylessError,
          )
        }
      }
    }
  })
})

describe('approvers named as a Slack user group', () => {
  const withGroup = (approvals: number) => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvers = ['S0DBAS', 'U0MANAGER2']
    raw.targets['prod-db'].approvals = approvals
    return configFrom(raw)
  }

  it("fixes the group's members on the grant as people, with the manager, never the requester, each once", () => {
    const grant = requestGrant(
      aliceRequest(),
      withGroup(2),
      T0,
      new Map([['S0DBAS', ['U0MANAGER1', 'U0ALICE', 'U0MANAGER2']]]),
    )
    expect(grant.approvers).toEqual(['U0MANAGER1', 'U0MANAGER2', 'U0BOB'])
    expect(grant.requiredApprovals).toBe(2)
  })

  it('counts distinct people: a group too small for the approvals needed is refused when requested', () => {
    const config = withGroup(4)
    expect(
      refusal(() =>
        requestGrant(aliceRequest(), config, T0, new Map([['S0DBAS', ['U0ALICE', 'U0MANAGER2']]])),
      ),
    ).toEqual({
      code: 'NO_POSSIBLE_APPROVER',
      message:
        'prod-db needs 4 approval(s), but only 2 person(s) other than you may approve; ask an admin to add approvers or a manager for you.',
    })
    // Validation could not know the group's size, so it let the config through.
    expect(config.targets.get('prod-db')?.approvals).toBe(4)
  })

  it('never builds a grant from a group that was not read', () => {
    expect(refusal(() => requestGrant(aliceRequest(), withGroup(1), T0))).toMatchObject({
      code: 'APPROVER_GROUP_UNREADABLE',
    })
  })
})

describe('a request over several targets', () => {
  /** prod-db (2h, approved by either manager) and dev-web, here approved by manager 2 only (8h). */
  const twoTargets = (change: (raw: ReturnType<typeof specConfigObject>) => void = () => {}) => {
    const raw = specConfigObject()
    raw.targets['dev-web'] = { access: ['shell'], maxDuration: '8h', approvers: ['U0MANAGER2'] }
    raw.people.U0ALICE.manager = undefined
    change(raw)
    return configFrom(raw)
  }
  const both = (overrides: object = {}) => aliceRequest({ targets: ['prod-db', 'dev-web'], ...overrides })

  it('makes one grant over every target: the smallest maximum, each target its own approvers', () => {
    const grant = requestGrant(both(), twoTargets(), T0)
    expect(grant).toMatchObject({
      target: 'prod-db',
      targets: ['prod-db', 'dev-web'],
      status: 'PENDING',
      autoApprove: false,
      maxDurationSeconds: 7200,
      approvers: ['U0MANAGER1', 'U0MANAGER2'],
      approvalRules: [
        { target: 'prod-db', approvers: ['U0MANAGER1', 'U0MANAGER2'], approvals: 1 },
        { target: 'dev-web', approvers: ['U0MANAGER2'], approvals: 1 },
      ],
    })
    expect(
      refusal(() => requestGrant(both({ durationSeconds: 3 * 3600 }), twoTargets(), T0)).message,
    ).toContain('prod-db')
  })

  it('reminds only the approvers of a target still waiting, who have not decided', () => {
    const grant = requestGrant(both(), twoTargets(), T0)
    expect(approversStillWaitedOn(grant)).toEqual(['U0MANAGER1', 'U0MANAGER2'])
    // Manager 1 satisfied prod-db: only dev-web waits, on manager 2.
    const partly = applyTransition(grant, decide(grant, { type: 'approve' }, manager1, at(10)))
    expect(approversStillWaitedOn(partly)).toEqual(['U0MANAGER2'])
  })

  it('one click counts for every target its clicker approves; a click for one of them leaves it pending', () => {
    const config = twoTargets()
    const grant = requestGrant(both(), config, T0)
    expect(decide(grant, { type: 'approve' }, manager2, at(10))).toMatchObject({ to: 'APPROVED' })
    const partly = applyTransition(grant, decide(grant, { type: 'approve' }, manager1, at(10)))
    expect(partly).toMatchObject({ status: 'PENDING', approvals: [{ by: 'U0MANAGER1' }] })
    expect(decide(partly, { type: 'approve' }, manager2, at(20))).toMatchObject({ to: 'APPROVED' })
    expect(refusal(() => decide(grant, { type: 'approve' }, bob, at(10))).message).toBe(
      `You are not an approver of prod-db or dev-web, so you cannot approve ${grant.id}.`,
    )
  })

  it('is auto-approved only when every target auto-approves; a self-approving target waives only its own rule', () => {
    const mixed = twoTargets((raw) => {
      raw.targets['dev-web'].autoApprove = true
    })
    const grant = requestGrant(both(), mixed, T0)
    expect(grant).toMatchObject({ status: 'PENDING', approvalRules: [{ target: 'prod-db' }] })
    const allAuto = twoTargets((raw) => {
      raw.targets['dev-web'].autoApprove = true
      raw.targets['prod-db'].autoApprove = true
    })
    expect(requestGrant(both(), allAuto, T0)).toMatchObject({ status: 'APPROVED', autoApprove: true })
  })

  it('refuses more targets than requests.maxTargets', () => {
    const config = twoTargets((raw) => {
      raw.requests = { maxTargets: 1 }
    })
    expect(refusal(() => requestGrant(both(), config, T0)).message).toBe(
      'A request may name at most 1 targets (requests.maxTargets); this one names 2.',
    )
  })

  it("places one policy per account: the person's own principal at home, their grant role in the member", () => {
    const organization = configFrom(organizationConfigObject())
    const grant = requestGrant(aliceRequest({ targets: ['prod-db', 'batch'] }), organization, T0)
    expect(grant).toMatchObject({
      principal: 'arn:aws:iam::111122223333:role/alice-ops',
      placements: [
        {
          account: '111122223333',
          principal: 'arn:aws:iam::111122223333:role/alice-ops',
          targets: ['prod-db'],
        },
        {
          account: '444455556666',
          principal: 'arn:aws:iam::444455556666:role/keyless/grant/U0ALICE',
          targets: ['batch'],
        },
      ],
    })
  })

  it('refuses before asking anyone when the one policy would not fit the principal', () => {
    const raw = specConfigObject()
    raw.people.U0ALICE.principal = 'arn:aws:iam::111122223333:user/alice'
    raw.targets['dev-web'] = {
      access: ['shell', 'port-forward'],
      ports: [80, 443, 8080, 8443, 9000],
      approvers: ['U0MANAGER2'],
    }
    const { code, message } = refusal(() => requestGrant(both(), configFrom(raw), T0))
    expect(code).toBe('INVALID_REQUEST')
    expect(message).toMatch(
      /^The policy for prod-db, dev-web is \d+ characters, over the 2048 an IAM user's inline policies may total/,
    )
  })
})
