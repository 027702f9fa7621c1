import { setTimeout as sleep } from 'node:timers/promises'
import { type AccessBackend, AccessBackendRetryableError, grantIdOfPolicy } from '../access/backend.ts'
import type { AlertSender } from '../alerts/service.ts'
import { parsePrincipalArn } from '../aws/arn.ts'
import { addSeconds } from '../clock.ts'
import type { Notice, ReconcileFinding } from '../notify/notifier.ts'
import { placedGrantRoles } from '../policy/placement.ts'
import { executionName, MAX_EXECUTION_ATTEMPTS, type Workflow } from '../workflow/workflow.ts'
import { GrantError } from './errors.ts'
import { type Actor, type Grant, grantPlacements, isLive } from './grant.ts'
import { decide, type GrantEvent } from './lifecycle.ts'
import { retryOnConflict } from './service.ts'
import type { GrantStore } from './store.ts'
import { endGrant, removeAccess, type TaskDeps, tell } from './tasks.ts'

/**
 * The safety net under every failure of the workflow: it makes the world match the grants.
 * - A live grant whose execution was lost (stopped, failed, or never started) and that is not
 *   yet overdue gets a new execution, which carries on from where the grant stands.
 * - An ACTIVE grant past its expiry (plus a grace for the workflow to do it) loses its access.
 * - An ACTIVE grant whose revocation was asked for and not carried out loses its access.
 * - A REVOKE_FAILED grant has its removal retried.
 * - An APPROVED grant that never became active is failed, and whatever was attached removed.
 * - A PENDING request past its deadline with no workflow to time it out is timed out.
 * - A `keyless-*` policy with no live grant behind it is removed.
 * Every repair is idempotent and every grant change conditional, so two runs at once, or a run
 * racing the workflow, end in the same state; what it repaired is reported to security.
 */

export interface ReconcileOptions {
  /** How long past expiry (or a revocation request) the workflow has before the reconciler steps in. */
  graceSeconds: number
  /** How long an APPROVED grant may take to become active. */
  activationGraceSeconds: number
  /**
   * Whether restarted executions are reported to security (default yes: in AWS a lost
   * execution is a fault). The local plane resuming what its last run left is not one.
   */
  reportRestarts?: boolean
}

export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = { graceSeconds: 120, activationGraceSeconds: 600 }

const RECONCILER: Actor = { kind: 'system', id: 'reconciler' }

/** The executions the reconciler looks after: where they are asked about and started again. */
export type Executions = Pick<Workflow, 'latestExecution' | 'startExecution'>

/** The tasks' dependencies, less the waits' callbacks; with `workflow`, lost executions are restarted. */
export type ReconcileDeps = Omit<TaskDeps, 'workflow'> & { workflow?: Executions }

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions = DEFAULT_RECONCILE_OPTIONS,
): Promise<ReconcileFinding[]> {
  const pass = new Pass(deps, options)
  // Each status is read once; what was read also names the principals the orphan sweep checks.
  const live = await pass.readLiveGrants()
  await pass.restartLostExecutions(live)
  await pass.removeOverdueAccess(live.active)
  await pass.retryFailedRevocations(live.revokeFailed)
  await pass.failStuckActivations(live.approved)
  await pass.timeOutStuckRequests(live.pending)
  await pass.removeOrphanPolicies([...live.active, ...live.approved, ...live.revokeFailed])
  await pass.tellRequesters()
  await pass.report()
  return pass.findings
}

interface LiveGrants {
  pending: Grant[]
  approved: Grant[]
  active: Grant[]
  revokeFailed: Grant[]
}

/** One reconciler pass: its time, what it found, and what the requesters of the grants it ended are told. */
class Pass {
  readonly findings: ReconcileFinding[] = []
  readonly #deps: ReconcileDeps
  readonly #options: ReconcileOptions
  readonly #now: Date
  /** Told once the AWS work is all done: the same notices the workflow would have sent. */
  readonly #notices: Notice[] = []

  constructor(deps: ReconcileDeps, options: ReconcileOptions) {
    this.#deps = deps
    this.#options = options
    this.#now = deps.clock.now()
  }

  async readLiveGrants(): Promise<LiveGrants> {
    const { store } = this.#deps
    return {
      pending: await store.listInStatus('PENDING'),
      active: await store.listInStatus('ACTIVE'),
      approved: await store.listInStatus('APPROVED'),
      revokeFailed: await store.listInStatus('REVOKE_FAILED'),
    }
  }

  /**
   * A lost execution is replaced first: the workflow then does what is due, with its own
   * messages and retries. What is overdue already is repaired by the steps after, at once.
   */
  async restartLostExecutions({ pending, approved, active }: LiveGrants): Promise<void> {
    const { workflow, store } = this.#deps
    if (!workflow) return
    for (const grant of [...pending, ...approved, ...active].filter(
      (candidate) => !this.#overdue(candidate),
    )) {
      try {
        const started = await restartLostExecution({ store, workflow }, grant.id, this.#now)
        if (started) {
          this.#found(
            grant,
            'execution-restarted',
            `${grant.status}: no running execution; started ${started}`,
          )
        }
      } catch (error) {
        this.#found(grant, 'repair-failed', `could not restart its execution: ${String(error)}`)
      }
    }
  }

  /** ACTIVE grants past expiry, or whose revocation was not carried out, beyond the workflow's grace. */
  async removeOverdueAccess(active: Grant[]): Promise<void> {
    for (const grant of active) {
      if (this.#beforeGrace(grant.expiresAt)) {
        await this.#repair(
          grant,
          'expired-access-removed',
          `expired at ${grant.expiresAt}, still active`,
          () => this.#revoke(grant),
        )
      } else if (this.#beforeGrace(grant.revocation?.at)) {
        await this.#repair(
          grant,
          'expired-access-removed',
          `revocation asked at ${grant.revocation?.at}, not carried out`,
          () => this.#revoke(grant),
        )
      }
    }
  }

  async retryFailedRevocations(revokeFailed: Grant[]): Promise<void> {
    for (const grant of revokeFailed) {
      await this.#repair(grant, 'revocation-retried', 'removal retried after REVOKE_FAILED', () =>
        this.#revoke(grant),
      )
    }
  }

  /** APPROVED grants that never became active: whatever was attached is removed, the grant FAILED. */
  async failStuckActivations(approved: Grant[]): Promise<void> {
    for (const grant of approved.filter((candidate) => this.#overdue(candidate))) {
      await this.#repair(
        grant,
        'stuck-activation-failed',
        `approved at ${lastChange(grant)}, never activated`,
        async () => {
          await retryingThrottles(() => removeAccess(this.#deps, grant))
          const reason = 'not activated in time (reconciler)'
          await this.#close(grant, { type: 'fail-activation', reason }, reason)
        },
      )
    }
  }

  /** Requests past their deadline with no workflow to time them out. */
  async timeOutStuckRequests(pending: Grant[]): Promise<void> {
    for (const grant of pending.filter((candidate) => this.#overdue(candidate))) {
      await this.#repair(grant, 'stuck-request-timed-out', `undecided since ${grant.decideBy}`, () =>
        this.#close(grant, { type: 'time-out' }, 'no decision in time'),
      )
    }
  }

  async removeOrphanPolicies(holding: Grant[]): Promise<void> {
    this.findings.push(...(await removeOrphanPolicies(this.#deps, holding, this.#now, this.#options)))
  }

  async tellRequesters(): Promise<void> {
    for (const notice of this.#notices) await tell(this.#deps, notice)
  }

  /** What was repaired goes to the security channel (restarts only where they are faults). */
  async report(): Promise<void> {
    const reported =
      this.#options.reportRestarts === false
        ? this.findings.filter((finding) => finding.what !== 'execution-restarted')
        : this.findings
    if (reported.length === 0) return
    try {
      await this.#deps.notifier.send({ kind: 'reconciled', findings: reported })
    } catch (error) {
      this.#deps.warn('could not report reconciliation', { findings: this.findings.length, error })
    }
  }

  #found(grant: Grant, what: ReconcileFinding['what'], detail: string): void {
    this.findings.push({ what, grantId: grant.id, principal: grant.principal, detail })
  }

  async #repair(grant: Grant, what: ReconcileFinding['what'], detail: string, fix: () => Promise<void>) {
    try {
      await fix()
      this.#found(grant, what, detail)
    } catch (error) {
      if (error instanceof GrantError && error.code === 'CONFLICT') return // another run or the workflow got there
      this.#found(grant, 'repair-failed', `${detail}: ${String(error)}`)
    }
  }

  async #revoke(grant: Grant): Promise<void> {
    const sessionsTerminated = await retryingThrottles(() => removeAccess(this.#deps, grant))
    const { grant: ended, endedNow } = await endGrant(this.#deps, grant.id, RECONCILER)
    if (ended.status !== 'EXPIRED' && ended.status !== 'REVOKED') {
      throw new Error(`${grant.id} is ${ended.status} after its access was removed`)
    }
    if (endedNow) this.#notices.push({ kind: 'access-ended', grant: ended, sessionsTerminated })
  }

  /** Ends a request the reconciler closes (`event`), telling the requester if this pass closed it. */
  async #close(grant: Grant, event: GrantEvent, reason: string): Promise<void> {
    const { store } = this.#deps
    let closedNow = false
    const after = await retryOnConflict(store, grant.id, async (current) => {
      closedNow = current.status === grant.status
      return closedNow ? store.transition(current, decide(current, event, RECONCILER, this.#now)) : current
    })
    if (closedNow) this.#notices.push({ kind: 'request-closed', grant: after, reason })
  }

  #beforeGrace(instant: string | undefined): boolean {
    return (
      instant !== undefined &&
      Date.parse(instant) <= addSeconds(this.#now, -this.#options.graceSeconds).getTime()
    )
  }

  /** Past what the workflow was given to do it itself: expiry or revocation, activation, the deadline. */
  #overdue(grant: Grant): boolean {
    if (grant.status === 'ACTIVE')
      return this.#beforeGrace(grant.expiresAt) || this.#beforeGrace(grant.revocation?.at)
    if (grant.status === 'APPROVED') {
      return (
        Date.parse(lastChange(grant)) <=
        addSeconds(this.#now, -this.#options.activationGraceSeconds).getTime()
      )
    }
    return this.#beforeGrace(grant.decideBy)
  }
}

/** How many unsent security alerts one pass posts (each a Slack call; the next pass takes the rest). */
export const UNSENT_ALERTS_PER_PASS = 50

/** What a reconciler pass did: its findings, and the alerts it posted that Slack had refused before. */
export interface ReconcilerPass {
  findings: ReconcileFinding[]
  alertsPosted: number
  /** Unsent alerts remain (one failed again, or more than a pass posts). */
  alertsLeft: boolean
}

/**
 * One pass of the reconciler, as the scheduled function and the local plane run it: make the
 * world match the grants (reconcile), then post the security alerts Slack refused earlier.
 */
export async function reconcilerPass(
  deps: ReconcileDeps,
  alerts: Pick<AlertSender, 'sendUnsent'> | undefined,
  options: ReconcileOptions = DEFAULT_RECONCILE_OPTIONS,
): Promise<ReconcilerPass> {
  const findings = await reconcile(deps, options)
  const unsent = alerts ? await alerts.sendUnsent(UNSENT_ALERTS_PER_PASS) : { posted: 0, left: false }
  return { findings, alertsPosted: unsent.posted, alertsLeft: unsent.left }
}

/**
 * Makes sure a live grant has a running execution: if its latest attempt has ended (or it
 * never had one), starts the next attempt from where the grant stands, read again after the
 * check so that a grant that ended meanwhile is left alone. Returns the name started, or
 * undefined when one runs (or another restarter started the same name first: names are the
 * grant id and attempt, so racing restarters cannot start two).
 */
export async function restartLostExecution(
  deps: { store: Pick<GrantStore, 'get'>; workflow: Executions },
  grantId: string,
  now: Date,
): Promise<string | undefined> {
  const latest = await deps.workflow.latestExecution(grantId)
  if (latest?.running) return undefined
  const grant = await deps.store.get(grantId)
  // REVOKE_FAILED stays with the reconciler's retries and an operator; an ended grant needs nothing.
  if (!grant || !isLive(grant.status) || grant.status === 'REVOKE_FAILED') return undefined
  const attempt = (latest?.attempt ?? 0) + 1
  if (attempt > MAX_EXECUTION_ATTEMPTS) {
    throw new Error(`${grantId} has had ${MAX_EXECUTION_ATTEMPTS} executions; not starting another`)
  }
  const name = executionName(grantId, attempt)
  return (await deps.workflow.startExecution(grant, name, now)) ? name : undefined
}

/** A `keyless-*` policy attached to a principal with no live grant behind it. */
export interface OrphanPolicy {
  principal: string
  policyName: string
  /** The grant the policy's name names, if that grant exists. */
  grant?: Grant
}

/** What one sweep of the principals keyless attaches to found. */
export interface PolicySweep {
  orphans: OrphanPolicy[]
  /** Every principal read, with its `keyless-*` policies. */
  read: Map<string, string[]>
  /** Principals whose policies could not be read, and why: nothing is known of them this time. */
  unread: { principal: string; account: string; detail: string }[]
}

/**
 * Every principal keyless might have attached to is checked for `keyless-*` policies whose grant
 * is not live: the people's own principals, every grant role the config places (a grant role
 * holds a person's grants in an account whether or not a live grant names it now), and the
 * principals of the grants that may hold access. `inAccount` limits the sweep to the accounts it
 * can read. One principal that cannot be read does not hide the others.
 */
export async function findOrphanPolicies(
  deps: Pick<ReconcileDeps, 'config' | 'store'> & { backend: Pick<AccessBackend, 'listGrantPolicies'> },
  holding: Grant[],
  now: Date,
  options: ReconcileOptions = DEFAULT_RECONCILE_OPTIONS,
  inAccount: (account: string) => boolean = () => true,
): Promise<PolicySweep> {
  const principals = new Set([
    ...[...deps.config.people.values()].flatMap((person) => (person.principal ? [person.principal] : [])),
    ...placedGrantRoles(deps.config).map((role) => role.roleArn),
    ...holding.flatMap((grant) => grantPlacements(grant).map((placement) => placement.principal)),
  ])
  const sweep: PolicySweep = { orphans: [], read: new Map(), unread: [] }
  // The grants just read need not be read again: a policy costs a read only when its grant is
  // not among them (ended, or unknown). One that ended since is caught by the next pass.
  const known = new Map(holding.map((grant) => [grant.id, grant]))
  for (const arn of principals) {
    const principal = parsePrincipalArn(arn)
    if (!principal || !inAccount(principal.account)) continue
    let policyNames: string[]
    try {
      policyNames = await retryingThrottles(() => deps.backend.listGrantPolicies(principal))
    } catch (error) {
      sweep.unread.push({ principal: arn, account: principal.account, detail: String(error) })
      continue
    }
    sweep.read.set(arn, policyNames)
    for (const policyName of policyNames) {
      const grantId = grantIdOfPolicy(policyName)
      const grant = grantId ? (known.get(grantId) ?? (await deps.store.get(grantId))) : undefined
      if (grant && isBehindPolicy(grant, now, options)) continue
      sweep.orphans.push({ principal: arn, policyName, ...(grant ? { grant } : {}) })
    }
  }
  return sweep
}

async function removeOrphanPolicies(
  deps: ReconcileDeps,
  holding: Grant[],
  now: Date,
  options: ReconcileOptions,
): Promise<ReconcileFinding[]> {
  const findings: ReconcileFinding[] = []
  let sweep: PolicySweep
  try {
    sweep = await findOrphanPolicies(deps, holding, now, options)
  } catch (error) {
    // The grants behind the policies could not be read: the other repairs still stand and are reported.
    return [{ what: 'repair-failed', principal: '*', detail: `orphan policy sweep: ${String(error)}` }]
  }
  // An account the sweep cannot reach (its agent role gone, say) is one finding, not one per principal.
  const unreadByAccount = new Map<string, PolicySweep['unread']>()
  for (const entry of sweep.unread) {
    unreadByAccount.set(entry.account, [...(unreadByAccount.get(entry.account) ?? []), entry])
  }
  for (const [account, unread] of unreadByAccount) {
    findings.push({
      what: 'repair-failed',
      principal:
        unread.length === 1 ? (unread[0]?.principal ?? '*') : `${unread.length} principals in ${account}`,
      detail: `orphan policy sweep could not read their policies: ${unread[0]?.detail}`,
    })
  }
  for (const { principal: arn, policyName, grant } of sweep.orphans) {
    const principal = parsePrincipalArn(arn)
    if (!principal) continue
    try {
      await retryingThrottles(() => deps.backend.detachPolicy(principal, policyName))
      findings.push({
        what: 'orphan-policy-removed',
        ...(grant ? { grantId: grant.id } : {}),
        principal: arn,
        policyName,
        detail: grant ? `its grant is ${grant.status}` : 'no grant has this id',
      })
    } catch (error) {
      findings.push({
        what: 'repair-failed',
        principal: arn,
        policyName,
        detail: `could not remove: ${String(error)}`,
      })
    }
  }
  return findings
}

/** A policy is legitimately attached while its grant is active, being activated, or awaiting an operator. */
function isBehindPolicy(grant: Grant, now: Date, options: ReconcileOptions): boolean {
  if (grant.status === 'ACTIVE' || grant.status === 'REVOKE_FAILED') return true
  // Attaching happens just before the grant is marked ACTIVE: leave a fresh APPROVED grant to the workflow.
  return (
    grant.status === 'APPROVED' &&
    Date.parse(lastChange(grant)) > addSeconds(now, -options.activationGraceSeconds).getTime()
  )
}

/**
 * IAM and Session Manager throttle under load: a throttled repair is tried again a few times
 * within the pass, with jittered exponential backoff, rather than waiting for the next pass.
 */
async function retryingThrottles<T>(act: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await act()
    } catch (error) {
      if (!(error instanceof AccessBackendRetryableError) || attempt >= attempts) throw error
      await sleep(Math.random() * 100 * 2 ** attempt)
    }
  }
}

const lastChange = (grant: Grant): string => grant.history.at(-1)?.at ?? grant.requestedAt
