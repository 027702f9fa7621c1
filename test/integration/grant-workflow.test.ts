import { afterAll, beforeAll, describe, it } from 'vitest'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { isoSeconds } from '../../shared/core/clock.ts'
import {
  approveExtension,
  approveRequest,
  cancelRequest,
  denyRequest,
  requestExtension,
  revokeGrant,
  submitRequest,
} from '../../shared/core/grants/control.ts'
import type { Actor } from '../../shared/core/grants/grant.ts'
import { newClientToken } from '../../shared/core/grants/grant.ts'
import { configFrom, organizationConfigObject } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { simulate } from '../kit/iam.ts'
import { ALICE, BOB, INSTANCES, type Plane, startPlane, workflowConfig } from '../kit/plane.ts'

const alice: Actor = { kind: 'slack', id: 'U0ALICE' }
const manager: Actor = { kind: 'slack', id: 'U0MANAGER1' }
const PROD_INSTANCE = `arn:aws:ec2:eu-west-1:111122223333:instance/${INSTANCES[0]?.instanceId}`

const request = (overrides: { target?: string; durationSeconds?: number; breakGlass?: boolean } = {}) => ({
  clientToken: newClientToken(),
  target: 'prod-db',
  requester: 'U0ALICE',
  durationSeconds: 3600,
  reason: 'fixing replication lag',
  ...overrides,
})

/** What the IAM simulator decides for StartSession on a prod-db instance with the principal's policies right now. */
async function canStartSession(plane: Plane, principal = ALICE) {
  const policies = [...(plane.backend.policies.get(principal)?.values() ?? [])]
  return simulate(policies, {
    action: 'ssm:StartSession',
    resource: PROD_INSTANCE,
    context: {
      'ssm:resourceTag/access-target': 'prod-db',
      'ssm:SessionDocumentAccessCheck': 'true',
      'aws:CurrentTime': isoSeconds(new Date()),
    },
  })
}

let db: EmbeddedDynamo
beforeAll(async () => {
  db = await startEmbeddedDynamo('workflow-grants')
})
afterAll(async () => {
  await db?.close()
})

// Every test has its own plane (runner, IAM/SSM stand-in, notifier) and its own grants; most
// of their time is spent waiting on the state machine's real timers, so they wait together.
describe.concurrent('the grant workflow (statemachines/grant.asl.json in the local runner)', () => {
  it("grants in a member account on the person's grant role there, and removes it at expiry", async ({
    expect,
  }) => {
    const plane = await startPlane(configFrom(organizationConfigObject()), {}, db)
    const carolsRole = 'arn:aws:iam::444455556666:role/keyless/grant/U0CAROL'
    const carol = await submitRequest(plane.control, {
      ...request({ target: 'batch', durationSeconds: 2 }),
      requester: 'U0CAROL',
    })
    expect(carol.grant.principal).toBe(carolsRole)
    await approveRequest(plane.control, carol.grant.id, manager)
    await plane.untilStatus(carol.grant.id, 'ACTIVE')
    expect(plane.backend.grantRoles.get(carolsRole)?.boundaryArn).toBe(
      'arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary',
    )
    expect(JSON.stringify(plane.backend.policyOf(carolsRole, grantPolicyName(carol.grant.id)))).toContain(
      'arn:aws:ec2:eu-west-1:444455556666:instance/*',
    )
    await plane.finished(carol.grant.id)
    expect((await db.store.get(carol.grant.id))?.status).toBe('EXPIRED')
    expect(plane.backend.policyOf(carolsRole, grantPolicyName(carol.grant.id))).toBeUndefined()
  })

  it('asks, attaches, waits out the grant and removes access at expiry', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    expect(await canStartSession(plane)).toBe('ImplicitlyDenied')
    const removedAt: number[] = []
    const detach = plane.backend.detachPolicy.bind(plane.backend)
    plane.backend.detachPolicy = async (principal, name) => {
      removedAt.push(Date.now())
      return detach(principal, name)
    }
    const { grant } = await submitRequest(plane.control, request({ durationSeconds: 2 }))
    const asked = await plane.until(grant.id, (current) => current.taskToken !== undefined)
    expect(asked.status).toBe('PENDING')
    expect(plane.notifier.kinds(grant.id)).toEqual(['approval-requested'])

    await approveRequest(plane.control, grant.id, manager)
    const active = await plane.untilStatus(grant.id, 'ACTIVE')
    expect(
      plane.backend.policyOf(ALICE, grantPolicyName(grant.id))?.Statement[0]?.Condition.DateLessThan,
    ).toEqual({
      'aws:CurrentTime': active.expiresAt,
    })
    expect(await canStartSession(plane)).toBe('Allowed')

    const outcome = await plane.finished(grant.id)
    const ended = await db.store.get(grant.id)
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' })
    expect(ended?.status).toBe('EXPIRED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(await canStartSession(plane)).toBe('ImplicitlyDenied')
    // Removed at expiry, never before it: the whole-second wait ends early and the task waits out the rest.
    expect(removedAt[0]).toBeGreaterThanOrEqual(Date.parse(active.expiresAt ?? ''))
    expect(outcome.states).toEqual([
      'Where does the grant stand?',
      'Ask for approval',
      'Attach access',
      'Wait for expiry, extension or revoke',
      'Warn or revoke?',
      'Revoke access',
      'Access ended',
    ])
    expect(plane.notifier.kinds(grant.id)).toEqual(['approval-requested', 'access-active', 'access-ended'])
    const activeNotice = plane.notifier.notices.find((notice) => notice.kind === 'access-active')
    expect(activeNotice?.kind === 'access-active' && activeNotice.instructions.join('\n')).toContain(
      'aws ssm start-session --region eu-west-1 --target i-0prod0000000000001',
    )
    expect(ended?.history.map((entry) => entry.action)).toEqual([
      'requested',
      'approved',
      'activated',
      'expired',
    ])
  })

  it('ends a denied request without ever attaching access', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const { grant } = await submitRequest(plane.control, request())
    await plane.until(grant.id, (current) => current.taskToken !== undefined)
    await denyRequest(plane.control, grant.id, manager, 'not during the freeze')
    const outcome = await plane.finished(grant.id)
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      states: ['Where does the grant stand?', 'Ask for approval', 'Request closed'],
    })
    expect((await db.store.get(grant.id))?.status).toBe('DENIED')
    expect(plane.backend.calls).not.toContain('attachPolicy')
  })

  it('ends a cancelled request the same way', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const { grant } = await submitRequest(plane.control, request())
    await plane.until(grant.id, (current) => current.taskToken !== undefined)
    await cancelRequest(plane.control, grant.id, alice)
    expect((await plane.finished(grant.id)).states.at(-1)).toBe('Request closed')
    expect((await db.store.get(grant.id))?.status).toBe('CANCELLED')
  })

  it('times out an undecided request at its deadline', async ({ expect }) => {
    const plane = await startPlane(workflowConfig('1s'), {}, db)
    const { grant } = await submitRequest(plane.control, request())
    const outcome = await plane.finished(grant.id)
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      states: [
        'Where does the grant stand?',
        'Ask for approval',
        'Remind or time out?',
        'Time out request',
        'Request closed',
      ],
    })
    expect((await db.store.get(grant.id))?.status).toBe('TIMED_OUT')
    expect(plane.notifier.kinds(grant.id)).toEqual(['approval-requested', 'request-closed'])
  })

  it('reminds the approvers halfway to the deadline, once, and still takes a decision after it', async ({
    expect,
  }) => {
    // Requests are timed to the whole second: with 4s, halfway is at least a second away.
    const plane = await startPlane(workflowConfig('4s'), {}, db)
    const { grant } = await submitRequest(plane.control, request())
    await plane.until(grant.id, () => plane.notifier.kinds(grant.id).includes('approval-reminder'), 4000)
    // The wait after the reminder stores a token of its own; an approval then ends it.
    await plane.until(grant.id, (current) => current.history.length === 1 && current.version >= 3)
    await approveRequest(plane.control, grant.id, manager)
    await plane.untilStatus(grant.id, 'ACTIVE')
    await revokeGrant(plane.control, grant.id, alice)
    const outcome = await plane.finished(grant.id)
    expect(outcome.states.slice(0, 6)).toEqual([
      'Where does the grant stand?',
      'Ask for approval',
      'Remind or time out?',
      'Remind approvers',
      'Ask for approval',
      'Attach access',
    ])
    // Asked once, reminded once: the second "Ask for approval" only waits.
    expect(plane.notifier.kinds(grant.id).slice(0, 3)).toEqual([
      'approval-requested',
      'approval-reminder',
      'access-active',
    ])
  })

  it('warns the requester before expiry, then removes access at expiry all the same', async ({ expect }) => {
    // The warning is due when it is at least a second away at activation: 3 seconds here,
    // so a slow activation on a loaded machine still gets one.
    const plane = await startPlane(workflowConfig(), { expiryWarningSeconds: 2 }, db)
    const { grant } = await submitRequest(plane.control, request({ target: 'dev-web', durationSeconds: 5 }))
    const outcome = await plane.finished(grant.id)
    expect(outcome.states).toEqual([
      'Where does the grant stand?',
      'Attach access',
      'Wait for expiry, extension or revoke',
      'Warn or revoke?',
      'Warn of expiry',
      'Wait for expiry, extension or revoke',
      'Warn or revoke?',
      'Revoke access',
      'Access ended',
    ])
    expect(plane.notifier.kinds(grant.id)).toEqual(['access-active', 'expiring-soon', 'access-ended'])
    const ended = await db.store.get(grant.id)
    expect(ended?.status).toBe('EXPIRED')
    expect(Date.parse(ended?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(ended?.expiresAt ?? ''))
  })

  it('attaches access at once for an auto-approved target, and for break-glass', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const auto = (await submitRequest(plane.control, request({ target: 'dev-web' }))).grant
    const glass = (await submitRequest(plane.control, request({ breakGlass: true }))).grant
    await plane.untilStatus(auto.id, 'ACTIVE')
    await plane.untilStatus(glass.id, 'ACTIVE')
    for (const grant of [auto, glass]) {
      await revokeGrant(plane.control, grant.id, alice)
      expect((await plane.finished(grant.id)).states).toEqual([
        'Where does the grant stand?',
        'Attach access',
        'Wait for expiry, extension or revoke',
        'Extension or revoke?',
        'Revoke access',
        'Access ended',
      ])
    }
  })

  it('revokes early within moments of the revoke, and terminates the live sessions on the target', async ({
    expect,
  }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true }))
    await plane.until(grant.id, (current) => current.status === 'ACTIVE' && current.taskToken !== undefined)
    const onProd = plane.backend.openSession(ALICE, 'i-0prod0000000000001')
    const onProdElsewhere = plane.backend.openSession(ALICE, 'i-0prod0000000000002')
    const onWeb = plane.backend.openSession(ALICE, 'i-0web00000000000001')
    const bobs = plane.backend.openSession(BOB, 'i-0prod0000000000001')

    await revokeGrant(plane.control, grant.id, alice, "I'm done")
    // An hour-long grant ends now: the wait was woken, not timed out (how fast: npm run bench).
    const ended = await plane.untilStatus(grant.id, 'REVOKED')
    expect(ended.revocation).toMatchObject({ by: alice, reason: "I'm done" })
    const state = (id: string) => plane.backend.sessions.find((session) => session.sessionId === id)?.state
    expect(state(onProd.sessionId)).toBe('Terminated')
    expect(state(onProdElsewhere.sessionId)).toBe('Terminated')
    expect(state(onWeb.sessionId)).toBe('Active') // another target's session is another grant's business
    expect(state(bobs.sessionId)).toBe('Active')
    const endNotice = plane.notifier.notices.find((notice) => notice.kind === 'access-ended')
    expect(endNotice).toMatchObject({ kind: 'access-ended', sessionsTerminated: 2 })
  })

  it('revokes a grant revoked while its access is being attached, without activating it', async ({
    expect,
  }) => {
    const plane = await startPlane(
      workflowConfig(),
      {
        intercept: (task, run) =>
          task === 'AttachAccessFunctionArn'
            ? async (payload) => {
                await revokeGrant(plane.control, (payload as { grantId: string }).grantId, alice)
                return run(payload)
              }
            : run,
      },
      db,
    )
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true }))
    const outcome = await plane.finished(grant.id)
    expect(outcome.states).toEqual([
      'Where does the grant stand?',
      'Attach access',
      'Revoke access',
      'Access ended',
    ])
    const ended = await db.store.get(grant.id)
    expect(ended?.status).toBe('REVOKED')
    expect(ended?.activatedAt).toBeUndefined()
    expect(plane.backend.calls).not.toContain('attachPolicy')
  })

  it('extends: replaces the policy with the new expiry and waits again', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const { grant } = await submitRequest(plane.control, request({ durationSeconds: 600 }))
    await plane.until(grant.id, (current) => current.taskToken !== undefined)
    await approveRequest(plane.control, grant.id, manager)
    const active = await plane.until(
      grant.id,
      (current) => current.status === 'ACTIVE' && current.taskToken !== undefined,
    )
    await requestExtension(plane.control, grant.id, alice, 900)
    await approveExtension(plane.control, grant.id, manager)
    const extended = await plane.until(
      grant.id,
      (current) =>
        current.expiresAt !== active.expiresAt &&
        current.taskToken !== undefined &&
        current.taskToken !== active.taskToken,
    )
    expect(Date.parse(extended.expiresAt ?? '') - Date.parse(active.expiresAt ?? '')).toBe(900_000)
    expect(
      plane.backend.policyOf(ALICE, grantPolicyName(grant.id))?.Statement[0]?.Condition.DateLessThan,
    ).toEqual({
      'aws:CurrentTime': extended.expiresAt,
    })
    await revokeGrant(plane.control, grant.id, alice)
    expect((await plane.finished(grant.id)).states).toEqual([
      'Where does the grant stand?',
      'Ask for approval',
      'Attach access',
      'Wait for expiry, extension or revoke',
      'Extension or revoke?',
      'Extend access',
      'Wait for expiry, extension or revoke',
      'Extension or revoke?',
      'Revoke access',
      'Access ended',
    ])
    expect(plane.notifier.kinds(grant.id)).toContain('access-extended')
  })

  it('retries throttled attaching and detaching with backoff', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    plane.backend.throttle('attachPolicy', 3)
    plane.backend.throttle('detachPolicy', 2)
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true, durationSeconds: 1 }))
    const outcome = await plane.finished(grant.id)
    expect(outcome.status).toBe('SUCCEEDED')
    expect((await db.store.get(grant.id))?.status).toBe('EXPIRED')
    expect(plane.backend.calls.filter((call) => call === 'attachPolicy')).toHaveLength(4)
    expect(plane.backend.calls.filter((call) => call === 'detachPolicy')).toHaveLength(3)
    expect(outcome.invocations).toMatchObject({ AttachAccessFunctionArn: 4, RevokeAccessFunctionArn: 3 })
  })

  it('marks REVOKE_FAILED and alerts security when removal fails for good, sending the alert until Slack takes it', async ({
    expect,
  }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    plane.backend.breakOperation('detachPolicy', 'AccessDenied: iam:DeleteRolePolicy')
    plane.notifier.refuse('revocation-failed', 2)
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true, durationSeconds: 1 }))
    const outcome = await plane.finished(grant.id)
    expect(outcome).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('the grant is REVOKE_FAILED'),
    })
    expect(outcome.states.slice(-3)).toEqual(['Revoke access', 'Mark revocation failed', 'Revocation failed'])
    const failed = await db.store.get(grant.id)
    expect(failed?.status).toBe('REVOKE_FAILED')
    expect(failed?.history.at(-1)?.detail).toBe('AccessDenied: iam:DeleteRolePolicy')
    expect(plane.notifier.notices.at(-1)).toMatchObject({
      kind: 'revocation-failed',
      reason: 'AccessDenied: iam:DeleteRolePolicy',
    })
    // Refused twice, sent the third time; the grant was marked once.
    expect(outcome.invocations.MarkRevocationFailedFunctionArn).toBe(3)
    expect(failed?.history.filter((entry) => entry.action === 'revocation-failed')).toHaveLength(1)
  })

  it('never lets a failed notification block revocation', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    plane.notifier.failing = true
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true, durationSeconds: 1 }))
    expect((await plane.finished(grant.id)).status).toBe('SUCCEEDED')
    expect((await db.store.get(grant.id))?.status).toBe('EXPIRED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(plane.warnings).toContain('notification failed')
  })

  it('fails activation cleanly when the policy cannot be attached', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    plane.backend.breakOperation('attachPolicy', 'LimitExceeded: inline policies of alice-ops')
    const { grant } = await submitRequest(plane.control, request({ breakGlass: true }))
    const outcome = await plane.finished(grant.id)
    expect(outcome.states.slice(-3)).toEqual(['Attach access', 'Fail activation', 'Activation failed'])
    const failed = await db.store.get(grant.id)
    expect(failed?.status).toBe('FAILED')
    expect(failed?.history.at(-1)?.detail).toBe('LimitExceeded: inline policies of alice-ops')
    expect(plane.notifier.kinds(grant.id).at(-1)).toBe('request-closed')
  })

  it('starts one execution for a replayed request', async ({ expect }) => {
    const plane = await startPlane(workflowConfig(), {}, db)
    const same = request()
    const first = await submitRequest(plane.control, same)
    const replay = await submitRequest(plane.control, same)
    expect(replay).toMatchObject({ created: false, grant: { id: first.grant.id } })
    expect(plane.workflow.executions.size).toBe(1)
    await cancelRequest(plane.control, first.grant.id, alice)
    await plane.finished(first.grant.id)
  })
})
