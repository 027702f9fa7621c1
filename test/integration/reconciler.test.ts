import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { raw as reconcilerRun } from '../../functions/reconciler/handler.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { parsePrincipalArn } from '../../shared/core/aws/arn.ts'
import { addSeconds, type Clock } from '../../shared/core/clock.ts'
import { approveRequest, submitRequest } from '../../shared/core/grants/control.ts'
import { newClientToken } from '../../shared/core/grants/grant.ts'
import {
  type Executions,
  type ReconcileDeps,
  reconcile,
  restartLostExecution,
} from '../../shared/core/grants/reconciler.ts'
import { buildGrantPolicy } from '../../shared/core/policy/grant-policy.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, advance, at, bob, manager1, pendingGrant, T0, workflow } from '../kit/grants.ts'
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
const request = (target: string, durationSeconds: number) => ({
  clientToken: newClientToken(),
  target,
  requester: 'U0ALICE',
  durationSeconds,
  reason: 'replication lag',
})

let db: EmbeddedDynamo
beforeAll(async () => {
  db = await startEmbeddedDynamo('reconciler-grants')
})
afterAll(async () => {
  await db?.close()
})

/**
 * The reconciler's dependencies over the plane's store and backend, at a chosen time; with
 * `executions`, it also restarts lost executions in the plane's runner.
 */
const depsAt = (plane: Plane, now: Date, executions = false): ReconcileDeps => {
  const { workflow: _callbacks, ...tasks } = plane.tasks
  return {
    ...tasks,
    clock: { now: () => now } satisfies Clock,
    ...(executions ? { workflow: plane.workflow } : {}),
  }
}

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
    // The requester hears of it as from the workflow; security gets the report.
    expect(plane.notifier.notices.slice(-2)).toMatchObject([
      {
        kind: 'request-closed',
        grant: { id: grant.id, status: 'FAILED' },
        reason: 'not activated in time (reconciler)',
      },
      { kind: 'reconciled' },
    ])
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
    expect(plane.notifier.notices.filter((notice) => notice.kind === 'access-ended')).toMatchObject([
      { grant: { id: grant.id, status: 'EXPIRED' }, sessionsTerminated: 1 },
    ])
  })

  it('as the scheduled function runs it: the repairs counted for their metric, the run recorded', async () => {
    const plane = await startPlane(config, {}, db)
    const grant = activeGrant(config, { clientToken: 'scheduled-run' }) // expires T0+1860s, no workflow
    await db.store.create(grant)
    const repaired: number[] = []
    const runs = new DynamoReconcilerRuns(db.client, db.tableName)
    const run = reconcilerRun(depsAt(plane, at(1860 + 180)), {
      runs,
      repaired: (count) => repaired.push(count),
    })
    expect(await run()).toEqual({ findings: 1, alertsPosted: 0, alertPaths: 'unwatched' })
    expect(repaired).toEqual([1])
    expect(await runs.last()).toEqual({ at: '2026-11-23T10:34:00Z', findings: 1, alertsPosted: 0 })
    expect((await db.store.get(grant.id))?.status).toBe('EXPIRED')
  })

  it('retries a throttled removal within the pass', async () => {
    const plane = await startPlane(config) // a table of its own
    const grant = activeGrant(config)
    await plane.db.store.create(grant)
    await plane.backend.attachPolicy(alice, grantPolicyName(grant.id), anyPolicy)
    plane.backend.throttle('detachPolicy', 2)
    const findings = await reconcile(depsAt(plane, at(4000)), NO_GRACE)
    expect(findings.map((finding) => finding.what)).toEqual(['expired-access-removed'])
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(plane.backend.calls.filter((call) => call === 'detachPolicy')).toHaveLength(3)
    await plane.close()
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
    expect(plane.notifier.kinds(pending.id)).toEqual(['request-closed'])
    // A second pass finds it closed and tells nobody again.
    await reconcile(depsAt(plane, addSeconds(pending.decideBy, 180)), NO_GRACE)
    expect(plane.notifier.kinds(pending.id)).toEqual(['request-closed'])
  })

  it('starts a lost execution again from where the grant stands: a request approved meanwhile is attached', async () => {
    const plane = await startPlane(config) // a table of its own: the reconciler sees only this grant
    const { grant } = await submitRequest(plane.control, request('prod-db', 600))
    await plane.until(grant.id, (current) => current.taskToken !== undefined)
    await plane.workflow.stopExecution(grant.id) // stopped by hand in the console
    expect((await plane.finished(grant.id)).status).toBe('ABORTED')
    // The approval is recorded; its signal reaches nobody.
    await approveRequest(plane.control, grant.id, manager1)
    expect((await plane.db.store.get(grant.id))?.status).toBe('APPROVED')

    const findings = await reconcile(depsAt(plane, new Date(), true))
    expect(findings).toEqual([
      {
        what: 'execution-restarted',
        grantId: grant.id,
        principal: ALICE,
        detail: `APPROVED: no running execution; started ${grant.id}-2`,
      },
    ])
    await plane.untilStatus(grant.id, 'ACTIVE')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeDefined()
    expect(plane.workflow.executions.get(`${grant.id}-2`)?.states.slice(0, 3)).toEqual([
      'Where does the grant stand?',
      'Attach access',
      'Wait for expiry, extension or revoke',
    ])
    // Running now: the next pass leaves it alone. The approvers were asked once.
    expect(await reconcile(depsAt(plane, new Date(), true))).toEqual([])
    expect(plane.notifier.kinds(grant.id).filter((kind) => kind === 'approval-requested')).toHaveLength(1)
    await plane.workflow.stop()
    await plane.close()
  })

  it('an active grant whose execution was lost still ends at its expiry; two reconcilers start one attempt', async () => {
    const plane = await startPlane(config)
    const { grant } = await submitRequest(plane.control, request('dev-web', 2))
    await plane.until(grant.id, (current) => current.status === 'ACTIVE' && current.taskToken !== undefined)
    await plane.workflow.stopExecution(grant.id)

    const deps = depsAt(plane, new Date(), true)
    const [first, second] = await Promise.all([reconcile(deps), reconcile(deps)])
    expect([...first, ...second].map((finding) => finding.what)).toEqual(['execution-restarted'])
    expect([...plane.workflow.executions.keys()]).toEqual([grant.id, `${grant.id}-2`])
    const ended = await plane.untilStatus(grant.id, 'EXPIRED')
    expect(Date.parse(ended.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(ended.expiresAt ?? ''))
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(plane.notifier.kinds(grant.id)).toEqual(['access-active', 'access-ended'])
    await plane.close()
  })

  it('gives a grant at most ten executions, and never one to a grant that has ended', async () => {
    const plane = await startPlane(config)
    const live = activeGrant(config)
    const ended = advance(activeGrant(config), [[{ type: 'end' }, workflow, at(2000)]])
    for (const grant of [live, ended]) await plane.db.store.create(grant)
    const started: string[] = []
    const attempts = (count: number): Executions => ({
      latestExecution: async (grantId) => ({ name: `${grantId}-${count}`, attempt: count, running: false }),
      startExecution: async (_grant, name) => {
        started.push(name)
        return true
      },
    })
    const deps = { store: plane.db.store, workflow: attempts(9) }
    expect(await restartLostExecution(deps, live.id, T0)).toBe(`${live.id}-10`)
    expect(await restartLostExecution(deps, ended.id, T0)).toBeUndefined()
    await expect(restartLostExecution({ ...deps, workflow: attempts(10) }, live.id, T0)).rejects.toThrow(
      `${live.id} has had 10 executions; not starting another`,
    )
    expect(started).toEqual([`${live.id}-10`])
    await plane.close()
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
