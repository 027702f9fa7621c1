import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grantPolicyName } from '../../shared/access/backend.ts'
import { parsePrincipalArn } from '../../shared/aws/arn.ts'
import { addSeconds, type Clock } from '../../shared/clock.ts'
import { submitRequest } from '../../shared/grants/control.ts'
import { newClientToken } from '../../shared/grants/grant.ts'
import { reconcile } from '../../shared/grants/reconciler.ts'
import { buildGrantPolicy } from '../../shared/policy/grant-policy.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, advance, at, bob, pendingGrant, workflow } from '../kit/grants.ts'
import { ALICE, type Plane, startPlane, workflowConfig } from '../kit/plane.ts'

const config = workflowConfig()
const alice = parsePrincipalArn(ALICE)
if (!alice) throw new Error('bad principal')
const anyPolicy = buildGrantPolicy(
  config,
  config.targets.get('prod-db') ?? (undefined as never),
  new Date('2030-01-01T00:00:00Z'),
)
const NO_GRACE = { graceSeconds: 0, activationGraceSeconds: 0 }

let db: EmbeddedDynamo
beforeAll(async () => {
  db = await startEmbeddedDynamo('reconciler-grants')
})
afterAll(async () => {
  await db?.close()
})

/** The reconciler's dependencies over the plane's store and backend, at a chosen time. */
const depsAt = (plane: Plane, now: Date) => ({ ...plane.tasks, clock: { now: () => now } satisfies Clock })

describe('the reconciler', () => {
  it('repairs a crash between attaching access and marking it active', async () => {
    // The attach task's process dies right after the policy is attached, and so does the
    // clean-up task: the grant is left APPROVED with its policy in place.
    const crash = () => {
      throw Object.assign(new Error('Runtime exited with error: signal: killed'), { name: 'Lambda.Unknown' })
    }
    const plane = await startPlane(
      config,
      {
        intercept: (task, run) => {
          if (task === 'AttachAccessFunctionArn') {
            return async (payload) => {
              const grant = await db.store.get((payload as { grantId: string }).grantId)
              if (grant) await plane.backend.attachPolicy(alice, grantPolicyName(grant.id), anyPolicy)
              return crash()
            }
          }
          return task === 'FailActivationFunctionArn' ? async () => crash() : run
        },
      },
      db,
    )
    const { grant } = await submitRequest(plane.control, {
      clientToken: newClientToken(),
      target: 'prod-db',
      requester: 'U0ALICE',
      durationSeconds: 600,
      reason: 'outage',
      breakGlass: true,
    })
    expect((await plane.finished(grant.id)).states.at(-1)).toBe('Activation failed')
    expect((await db.store.get(grant.id))?.status).toBe('APPROVED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeDefined()

    const findings = await reconcile(depsAt(plane, addSeconds(new Date(), 1)), NO_GRACE)
    expect(findings).toEqual([
      expect.objectContaining({ what: 'stuck-activation-failed', grantId: grant.id, principal: ALICE }),
    ])
    expect((await db.store.get(grant.id))?.status).toBe('FAILED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(plane.notifier.notices.at(-1)).toMatchObject({ kind: 'reconciled' })
  })

  it('removes the access of a grant past expiry whose workflow is gone, and ends it', async () => {
    const plane = await startPlane(config, {}, db)
    const grant = activeGrant(config) // active T0+60s .. T0+1860s, no workflow
    await db.store.create(grant)
    await plane.backend.attachPolicy(alice, grantPolicyName(grant.id), anyPolicy)
    const session = plane.backend.openSession(ALICE, 'i-0prod0000000000001')

    expect(
      await reconcile(depsAt(plane, at(1860 + 60)), { graceSeconds: 120, activationGraceSeconds: 600 }),
    ).toEqual([])
    const findings = await reconcile(depsAt(plane, at(1860 + 120)), {
      graceSeconds: 120,
      activationGraceSeconds: 600,
    })
    expect(findings.map((finding) => finding.what)).toEqual(['expired-access-removed'])
    const ended = await db.store.get(grant.id)
    expect(ended?.status).toBe('EXPIRED')
    expect(ended?.history.at(-1)?.actor).toEqual({ kind: 'system', id: 'reconciler' })
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(plane.backend.sessions.find((open) => open.sessionId === session.sessionId)?.state).toBe(
      'Terminated',
    )
  })

  it('carries out a revocation whose signal was lost, and retries a failed removal', async () => {
    const plane = await startPlane(config, {}, db)
    const revoking = advance(activeGrant(config), [[{ type: 'request-revocation' }, bob, at(100)]])
    const failed = advance(activeGrant(config), [
      [{ type: 'fail-revocation', reason: 'Throttling' }, workflow, at(200)],
    ])
    for (const grant of [revoking, failed]) {
      await db.store.create(grant)
      await plane.backend.attachPolicy(alice, grantPolicyName(grant.id), anyPolicy)
    }
    const findings = await reconcile(depsAt(plane, at(300)), {
      graceSeconds: 120,
      activationGraceSeconds: 600,
    })
    expect(findings.map((finding) => [finding.what, finding.grantId])).toEqual(
      expect.arrayContaining([
        ['expired-access-removed', revoking.id],
        ['revocation-retried', failed.id],
      ]),
    )
    expect((await db.store.get(revoking.id))?.status).toBe('REVOKED')
    expect((await db.store.get(failed.id))?.status).toBe('EXPIRED')
    expect(await plane.backend.listGrantPolicies(alice)).toEqual([])
  })

  it('removes a keyless policy with no live grant behind it, and leaves live ones', async () => {
    const plane = await startPlane(config, {}, db)
    const live = activeGrant(config)
    await db.store.create(live)
    const ended = advance(activeGrant(config), [[{ type: 'end' }, workflow, at(2000)]])
    await db.store.create(ended)
    for (const name of [grantPolicyName(live.id), grantPolicyName(ended.id), 'keyless-g-unknown0000']) {
      await plane.backend.attachPolicy(alice, name, anyPolicy)
    }
    await plane.backend.attachPolicy(alice, 'team-baseline', anyPolicy) // not keyless's business
    const findings = await reconcile(depsAt(plane, at(100)), {
      graceSeconds: 120,
      activationGraceSeconds: 600,
    })
    expect(findings).toEqual([
      expect.objectContaining({
        what: 'orphan-policy-removed',
        grantId: ended.id,
        detail: 'its grant is EXPIRED',
      }),
      expect.objectContaining({
        what: 'orphan-policy-removed',
        policyName: 'keyless-g-unknown0000',
        detail: 'no grant has this id',
      }),
    ])
    expect([...(plane.backend.policies.get(ALICE)?.keys() ?? [])].sort()).toEqual([
      grantPolicyName(live.id),
      'team-baseline',
    ])
  })

  it('times out a request left undecided past its deadline', async () => {
    const plane = await startPlane(config, {}, db)
    const pending = pendingGrant(config)
    await db.store.create(pending)
    const findings = await reconcile(depsAt(plane, addSeconds(pending.decideBy, 120)), {
      graceSeconds: 120,
      activationGraceSeconds: 600,
    })
    expect(findings.map((finding) => finding.what)).toContain('stuck-request-timed-out')
    expect((await db.store.get(pending.id))?.status).toBe('TIMED_OUT')
  })

  it('is idempotent and safe to run twice at once', async () => {
    const plane = await startPlane(config) // a table of its own: exactly these grants
    const db = plane.db
    const grants = [activeGrant(config), activeGrant(config), activeGrant(config)]
    for (const grant of grants) {
      await db.store.create(grant)
      await plane.backend.attachPolicy(alice, grantPolicyName(grant.id), anyPolicy)
    }
    const deps = depsAt(plane, at(4000))
    const [first, second] = await Promise.all([reconcile(deps, NO_GRACE), reconcile(deps, NO_GRACE)])
    const repaired = [...(first ?? []), ...(second ?? [])].filter(
      (finding) => finding.what === 'expired-access-removed',
    )
    expect(new Set(repaired.map((finding) => finding.grantId))).toEqual(
      new Set(grants.map((grant) => grant.id)),
    )
    expect(
      [...(first ?? []), ...(second ?? [])].filter((finding) => finding.what === 'repair-failed'),
    ).toEqual([])
    for (const grant of grants) {
      const ended = await db.store.get(grant.id)
      expect(ended?.status).toBe('EXPIRED')
      expect(ended?.history.filter((entry) => entry.action === 'expired')).toHaveLength(1)
    }
    expect(await plane.backend.listGrantPolicies(alice)).toEqual([])
    expect(await reconcile(deps, NO_GRACE)).toEqual([])
    await plane.close()
  })
})
