import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { LocalAccessBackend, type LocalInstance } from '../../local/access-backend.ts'
import { createLocalControlPlane, type LocalControlPlane } from '../../local/control-plane.ts'
import {
  type AccessBackend,
  AccessBackendRetryableError,
  grantIdOfPolicy,
} from '../../shared/core/access/backend.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import {
  approveRequest,
  type ControlDeps,
  denyRequest,
  revokeGrant,
  submitRequest,
} from '../../shared/core/grants/control.ts'
import { type Actor, type Grant, grantIdFor, isLive } from '../../shared/core/grants/grant.ts'
import { liveGrants } from '../../shared/core/grants/operations.ts'
import { reconcile } from '../../shared/core/grants/reconciler.ts'
import type { Notice, Notifier } from '../../shared/core/notify/notifier.ts'
import type { Workflow } from '../../shared/core/workflow/workflow.ts'
import { configFrom } from '../kit/config.ts'
import { startEmbeddedDynamo } from '../kit/dynamo.ts'

/**
 * The soak: many grant lifecycles at once through the real state machine in the local runner,
 * the real task code and the embedded DynamoDB, while everything around them fails — IAM and
 * SSM throttle or error, Slack refuses messages, signals are lost, duplicate deliveries and
 * racing approvers collide, task code crashes before or after its work, and the whole plane is
 * killed and restarted (then resumed, as `npm start` does). At the end, one reconciler pass,
 * and the figures that say whether anyone kept access they should not have.
 */

export interface SoakOptions {
  grants: number
  /** Requests are spread over this long. */
  rampMs: number
  /** How long each grant lasts, at least and at most. */
  durationSeconds: [number, number]
  /** The share of IAM/SSM calls that are throttled or fail (retryably), before or after taking effect. */
  backendFaultRate: number
  /** The share of task invocations that crash, before or after their work. */
  crashRate: number
  /** The share of notifications Slack refuses, and of workflow signals lost. */
  notifyFaultRate: number
  signalLossRate: number
  /** How often the whole plane is killed and started again; 0 never. */
  restartEveryMs: number
  reconcileEveryMs: number
  /** How long past expiry the reconciler leaves a grant to its workflow. */
  graceSeconds: number
  /** How long a request waits for a decision (some are left undecided, to time out). */
  approvalTimeout: string
  seed: number
  log?: (line: string) => void
}

export interface SoakReport {
  requested: number
  created: number
  approved: number
  expired: number
  revoked: number
  failed: number
  denied: number
  timedOut: number
  revokeFailedAtSomePoint: number
  stillLive: number
  accessLeftAfterExpiry: number
  sessionsLeftOpen: number
  duplicateGrants: number
  historyEntriesLost: number
  revokeFailedWithoutAlert: number
  worstRevocationLagMs: number
  medianRevocationLagMs: number
  restarts: number
  faults: { backend: number; crashes: number; notifications: number; signals: number }
  wallMs: number
  peakRssMb: number
}

const APPROVERS: Actor[] = [
  { kind: 'slack', id: 'U0APPROVER1' },
  { kind: 'slack', id: 'U0APPROVER2' },
]
const TARGETS = ['auto', 'gated', 'pair'] as const
const PEOPLE = 40

export function soakConfig(approvalTimeout = '20s'): KeylessConfig {
  return configFrom({
    account: '111122223333',
    region: 'eu-west-1',
    regions: ['eu-west-1'],
    slack: { securityChannel: 'C0SECURITY' },
    defaults: { tagKey: 'access-target', maxDuration: '1h', approvalTimeout },
    targets: {
      auto: { access: ['shell'], autoApprove: true },
      gated: { access: ['shell', 'port-forward'], ports: [5432], approvers: ['U0APPROVER1', 'U0APPROVER2'] },
      pair: { access: ['shell'], approvers: ['U0APPROVER1', 'U0APPROVER2'], approvals: 2 },
    },
    people: Object.fromEntries(
      Array.from({ length: PEOPLE }, (_, i) => [
        personId(i),
        { principal: `arn:aws:iam::111122223333:role/soak-${i}` },
      ]),
    ),
  })
}

const personId = (i: number) => `U0P${String(i).padStart(3, '0')}`
const INSTANCES: LocalInstance[] = TARGETS.map((target, i) => ({
  instanceId: `i-0soak00000000000${i}`,
  region: 'eu-west-1',
  tags: { 'access-target': target },
}))
const instanceOf = (target: string) => INSTANCES.find((instance) => instance.tags['access-target'] === target)

/**
 * Whether the next call is one of the share that fails: exactly one in every 1/rate calls, at a
 * seeded offset, so a short run gets its faults as surely as a long one (a coin per call could
 * leave a dozen grants without a single crash).
 */
function share(rate: number, chance: () => number): () => boolean {
  if (rate <= 0) return () => false
  const period = Math.max(1, Math.round(1 / rate))
  let calls = Math.floor(chance() * period)
  return () => ++calls % period === 0
}

/** A small seeded generator: the same seed, the same faults. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now()
  const chance = random(options.seed)
  const log = options.log ?? (() => {})
  const config = soakConfig(options.approvalTimeout)
  const db = await startEmbeddedDynamo('soak-grants')
  const local = new LocalAccessBackend(INSTANCES)
  const faults = { backend: 0, crashes: 0, notifications: 0, signals: 0 }
  /** When each grant's policy was first removed. */
  const removedAt = new Map<string, number>()
  const backend = faultyBackend(local, share(options.backendFaultRate, chance), chance, faults, removedAt)
  const notifier = new SoakNotifier(share(options.notifyFaultRate, chance), faults)
  const crashes = share(options.crashRate, chance)
  const lostSignals = share(options.signalLossRate, chance)
  let peakRss = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 200)

  const warn = () => {}
  const build = () =>
    createLocalControlPlane({
      config,
      store: db.store,
      backend,
      notifier,
      clock: systemClock,
      warn,
      retryIntervalMs: 20,
      expiryWarningSeconds: 1,
      intercept: (_task, run) => async (payload) => {
        const crashing = crashes()
        const before = crashing && chance() < 0.5
        if (crashing) faults.crashes += 1
        if (before) throw crash()
        const result = await run(payload)
        if (crashing) throw crash() // the work was done; the invocation died before reporting it
        return result
      },
    })
  let plane = await build()
  /** What people act through: signals to the workflow are lost now and then. */
  const control = (): ControlDeps => ({
    ...plane.control,
    workflow: lossy(plane.workflow, lostSignals, faults),
  })
  const reconcileOnce = (graceSeconds = 2) =>
    reconcile(plane.reconcile, { graceSeconds, activationGraceSeconds: 15 }).catch((error: unknown) =>
      log(`reconciler: ${String(error)}`),
    )
  let restarts = 0
  const restart = async () => {
    const old = plane
    await old.workflow.stop()
    plane = await build()
    restarts += 1
    await reconcileOnce() // what npm start does at start: resume every live grant
  }
  // Each on its own timer, as a schedule would run them; a run still going skips the tick.
  const restarting = every(options.restartEveryMs, restart)
  const reconciling = every(options.reconcileEveryMs, () => reconcileOnce())

  const tokens: string[] = []
  /** What each request's people will do, by grant id: acted on when they hear of it (if they do). */
  const plans = new Map<string, { requester: string; target: string; plan: number }>()
  const pending: Promise<unknown>[] = []
  notifier.onDelivered = (notice) => {
    if (!('grant' in notice)) return
    const planned = plans.get(notice.grant.id)
    if (!planned) return
    const grantId = notice.grant.id
    if (notice.kind === 'approval-requested') {
      // The approvers read their DM: one denies, or both approve at once, or nobody decides.
      if (planned.plan < 0.1)
        pending.push(denyRequest(control(), grantId, APPROVERS[0] as Actor).catch(() => {}))
      else if (planned.plan >= 0.15) {
        for (const approver of APPROVERS)
          pending.push(approveRequest(control(), grantId, approver).catch(() => {}))
      }
    } else if (notice.kind === 'access-active') {
      const instance = instanceOf(planned.target)
      if (instance) local.openSession(notice.grant.principal, instance.instanceId)
      if (planned.plan > 0.7) {
        // Done early: the requester revokes.
        pending.push(
          sleep(chance() * 1000).then(() =>
            revokeGrant(control(), grantId, { kind: 'slack', id: planned.requester }).catch(() => {}),
          ),
        )
      }
    }
  }
  const lifecycles: Promise<void>[] = []
  for (let i = 0; i < options.grants; i++) {
    lifecycles.push(
      (async () => {
        await sleep((options.rampMs * i) / options.grants)
        await request(i)
      })(),
    )
  }

  async function request(i: number): Promise<void> {
    const clientToken = randomUUID()
    tokens.push(clientToken)
    const target = TARGETS[i % TARGETS.length] ?? 'auto'
    const requester = personId(Math.floor(chance() * PEOPLE))
    const [least, most] = options.durationSeconds
    plans.set(grantIdFor(clientToken), { requester, target, plan: chance() })
    const submit = () =>
      submitRequest(control(), {
        clientToken,
        target,
        requester,
        durationSeconds: least + Math.floor(chance() * (most - least + 1)),
        reason: `soak ${i}`,
      }).catch(() => {})
    // A duplicate delivery: Slack retried the same command while the first was in flight.
    await (chance() < 0.2 ? Promise.all([submit(), submit()]) : submit())
  }

  await Promise.all(lifecycles)
  // Until every grant has ended (requests time out, access expires), or long after it should have.
  const deadline = Date.now() + options.rampMs + (options.durationSeconds[1] + 120) * 1000
  while (Date.now() < deadline && (await liveGrants(db.store).catch(() => [undefined])).length > 0)
    await sleep(200)
  await Promise.all(pending)
  log(`lifecycles done after ${Date.now() - started} ms`)
  await restarting.stop()
  await reconciling.stop()
  // Every grant is past its expiry and its grace: one reconciler pass, faults still on.
  const all = await db.store.listAll()
  const lastExpiry = Math.max(0, ...all.map((grant) => Date.parse(grant.expiresAt ?? '') || 0))
  await sleep(Math.max(0, lastExpiry + options.graceSeconds * 1000 - Date.now()))
  await reconcileOnce()
  await plane.workflow.stop()
  clearInterval(sampler)

  const final = await db.store.listAll()
  for (const line of slowestRemovals(final, removedAt, 3)) log(line)
  const report = measure(final, {
    tokens,
    local,
    removedAt,
    alerted: notifier.revocationAlerts,
  })
  await db.close()
  return {
    ...report,
    requested: tokens.length,
    restarts,
    faults,
    wallMs: Date.now() - started,
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  }
}

function measure(
  grants: Grant[],
  seen: { tokens: string[]; local: LocalAccessBackend; removedAt: Map<string, number>; alerted: Set<string> },
): Omit<SoakReport, 'requested' | 'restarts' | 'faults' | 'wallMs' | 'peakRssMb'> {
  const byId = new Map(grants.map((grant) => [grant.id, grant]))
  const count = (status: Grant['status']) => grants.filter((grant) => grant.status === status).length
  const acted = (grant: Grant, action: string) => grant.history.some((entry) => entry.action === action)
  const now = Date.now()

  // Access: any keyless policy whose grant is not live, or whose grant is past its expiry.
  let accessLeftAfterExpiry = 0
  for (const attached of seen.local.policies.values()) {
    for (const name of attached.keys()) {
      const grant = byId.get(grantIdOfPolicy(name) ?? '')
      if (!grant || !isLive(grant.status) || Date.parse(grant.expiresAt ?? '') <= now)
        accessLeftAfterExpiry += 1
    }
  }
  // Sessions: open on a target where their principal holds no active grant.
  const sessionsLeftOpen = seen.local.sessions.filter((session) => {
    if (session.state !== 'Active') return false
    const target = seen.local.instances.find((instance) => instance.instanceId === session.target)?.tags[
      'access-target'
    ]
    return !grants.some(
      (grant) => grant.status === 'ACTIVE' && grant.principal === session.owner && grant.target === target,
    )
  }).length
  // Duplicates: more grants than requests, or a request recorded twice.
  const distinct = new Set(seen.tokens.map(grantIdFor))
  const duplicateGrants =
    grants.filter((grant) => !distinct.has(grant.id)).length +
    grants.filter((grant) => grant.history.filter((entry) => entry.action === 'requested').length !== 1)
      .length
  // History: every transition starts where the one before ended, and the last is where the grant is.
  let historyEntriesLost = 0
  for (const grant of grants) {
    const moves = grant.history.filter((entry) => entry.action !== 'refused')
    let at: string | null = null
    for (const entry of moves) {
      if (entry.from !== at && !(at === null && entry.from === null)) historyEntriesLost += 1
      at = entry.to
    }
    if (at !== grant.status) historyEntriesLost += 1
  }
  const revokeFailed = grants.filter((grant) => acted(grant, 'revocation-failed'))
  const lags = grants
    .filter((grant) => grant.status === 'EXPIRED' && grant.expiresAt)
    .map((grant) => (seen.removedAt.get(grant.id) ?? now) - Date.parse(grant.expiresAt ?? ''))
    .sort((a, b) => a - b)
  return {
    created: grants.length,
    approved: grants.filter((grant) => acted(grant, 'approved') || acted(grant, 'auto-approved')).length,
    expired: count('EXPIRED'),
    revoked: count('REVOKED'),
    failed: count('FAILED'),
    denied: count('DENIED'),
    timedOut: count('TIMED_OUT'),
    revokeFailedAtSomePoint: revokeFailed.length,
    stillLive: grants.filter((grant) => isLive(grant.status)).length,
    accessLeftAfterExpiry,
    sessionsLeftOpen,
    duplicateGrants,
    historyEntriesLost,
    revokeFailedWithoutAlert: revokeFailed.filter((grant) => !seen.alerted.has(grant.id)).length,
    worstRevocationLagMs: lags.at(-1) ?? 0,
    medianRevocationLagMs: lags[Math.floor(lags.length / 2)] ?? 0,
  }
}

/** The expired grants whose policy was removed latest after expiry, with their history: where the tail comes from. */
function slowestRemovals(grants: Grant[], removedAt: Map<string, number>, count: number): string[] {
  const lag = (grant: Grant) => (removedAt.get(grant.id) ?? Date.now()) - Date.parse(grant.expiresAt ?? '')
  return grants
    .filter((grant) => grant.status === 'EXPIRED')
    .sort((a, b) => lag(b) - lag(a))
    .slice(0, count)
    .map(
      (grant) =>
        `slow removal: ${grant.id} ${lag(grant)} ms after ${grant.expiresAt}: ${grant.history.map((entry) => `${entry.at.slice(11, 19)} ${entry.action} (${entry.actor.id})`).join(', ')}`,
    )
}

/** The report's last lines: one figure per line, as `npm run soak` prints them. */
export function reportLines(report: SoakReport): string[] {
  return [
    `grants requested: ${report.requested}, created: ${report.created}, approved: ${report.approved}, expired: ${report.expired}, revoked: ${report.revoked}, failed: ${report.failed}, denied: ${report.denied}, timed out: ${report.timedOut}, still live: ${report.stillLive}`,
    `faults injected: ${report.faults.backend} IAM/SSM, ${report.faults.crashes} task crashes, ${report.faults.notifications} notifications, ${report.faults.signals} signals lost, ${report.restarts} plane restarts; ${report.revokeFailedAtSomePoint} grants went REVOKE_FAILED`,
    `access left attached after expiry plus one reconciler pass: ${report.accessLeftAfterExpiry} (target 0)`,
    `sessions left open after revocation: ${report.sessionsLeftOpen} (target 0)`,
    `duplicate grants: ${report.duplicateGrants} (target 0)`,
    `history entries lost: ${report.historyEntriesLost} (target 0)`,
    `REVOKE_FAILED without a security alert: ${report.revokeFailedWithoutAlert} (target 0)`,
    `worst revocation lag after expiry: ${report.worstRevocationLagMs} ms (median ${report.medianRevocationLagMs} ms)`,
    `wall time: ${(report.wallMs / 1000).toFixed(1)} s, peak RSS: ${report.peakRssMb} MB`,
  ]
}

/** Runs `task` every `ms` (never two at once; 0: never) until stopped; stop waits for a run in progress. */
function every(ms: number, task: () => Promise<unknown>) {
  let running: Promise<unknown> | undefined
  const timer =
    ms > 0
      ? setInterval(() => {
          running ??= task().finally(() => {
            running = undefined
          })
        }, ms)
      : undefined
  return {
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}

const crash = () =>
  Object.assign(new Error('Runtime exited with error: signal: killed (soak)'), { name: 'Lambda.Unknown' })

/** IAM and SSM as a bad day has them: some calls throttled or failing, before or after taking effect. */
function faultyBackend(
  inner: LocalAccessBackend,
  faulty: () => boolean,
  chance: () => number,
  faults: SoakReport['faults'],
  removedAt: Map<string, number>,
): AccessBackend {
  const call = async <T>(name: string, act: () => Promise<T>): Promise<T> => {
    if (!faulty()) return act()
    faults.backend += 1
    const after = chance() < 0.5
    if (after) await act() // it happened, but the answer was lost
    throw new AccessBackendRetryableError(
      `${name}: ${chance() < 0.5 ? 'Throttling' : 'ServiceFailure'} (soak)`,
    )
  }
  return {
    attachPolicy: (principal, name, policy) =>
      call('attachPolicy', () => inner.attachPolicy(principal, name, policy)),
    detachPolicy: (principal, name) =>
      call('detachPolicy', async () => {
        await inner.detachPolicy(principal, name)
        const grantId = grantIdOfPolicy(name)
        if (grantId && !removedAt.has(grantId)) removedAt.set(grantId, Date.now())
      }),
    listGrantPolicies: (principal) => call('listGrantPolicies', () => inner.listGrantPolicies(principal)),
    listInstances: (target) => call('listInstances', () => inner.listInstances(target)),
    listActiveSessions: (principal, target) =>
      call('listActiveSessions', () => inner.listActiveSessions(principal, target)),
    terminateSession: (session) => call('terminateSession', () => inner.terminateSession(session)),
    prepareGrantRole: (wanted) => call('prepareGrantRole', () => inner.prepareGrantRole(wanted)),
  }
}

/** Slack as a bad day has it: some messages refused. Remembers which REVOKE_FAILED alerts went out. */
class SoakNotifier implements Notifier {
  readonly revocationAlerts = new Set<string>()
  /** What people do when a message reaches them. */
  onDelivered: (notice: Notice) => void = () => {}
  readonly #refuse: () => boolean
  readonly #faults: SoakReport['faults']

  constructor(refuse: () => boolean, faults: SoakReport['faults']) {
    this.#refuse = refuse
    this.#faults = faults
  }

  async send(notice: Notice): Promise<void> {
    if (this.#refuse()) {
      this.#faults.notifications += 1
      throw new Error(`Slack refused ${notice.kind} (soak)`)
    }
    if (notice.kind === 'revocation-failed') this.revocationAlerts.add(notice.grant.id)
    this.onDelivered(notice)
  }
}

/** The workflow's callbacks, with some signals lost on the way (a network blip, a throttled SendTaskSuccess). */
function lossy(workflow: Workflow, lose: () => boolean, faults: SoakReport['faults']): Workflow {
  const unlessLost = async (send: () => Promise<void>) => {
    if (!lose()) return send()
    faults.signals += 1
  }
  return {
    start: (grant, now) => workflow.start(grant, now),
    startExecution: (grant, name, now) => workflow.startExecution(grant, name, now),
    latestExecution: (grantId) => workflow.latestExecution(grantId),
    resume: (token, output) => unlessLost(() => workflow.resume(token, output)),
    reject: (token, error, cause) => unlessLost(() => workflow.reject(token, error, cause)),
  }
}

export type { LocalControlPlane }
