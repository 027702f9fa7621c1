import type { AccessBackend } from '../access/backend.ts'
import type { Clock } from '../clock.ts'
import { findTarget } from '../config/lookup.ts'
import type { KeylessConfig } from '../config/schema.ts'
import { placedGrantRoles } from '../policy/placement.ts'
import type { Workflow } from '../workflow/workflow.ts'
import { type ControlDeps, denyRequest, revokeGrant } from './control.ts'
import { GrantError } from './errors.ts'
import {
  type Actor,
  type Grant,
  type GrantStatus,
  grantTargets,
  LIVE_STATUSES,
  mayHoldAccess,
} from './grant.ts'
import { DEFAULT_RECONCILE_OPTIONS, findOrphanPolicies } from './reconciler.ts'
import type { GrantStore } from './store.ts'
import { removeAccess } from './tasks.ts'

/**
 * What an operator does when things are not fine: cut everyone off a target at once, and ask
 * the plane what is wrong with it. Both act through the same rules as everyone else.
 */

/** Every grant keyless still owes work on, soonest due first within each status. */
export async function liveGrants(store: Pick<GrantStore, 'listInStatus'>): Promise<Grant[]> {
  return (await Promise.all(LIVE_STATUSES.map((status) => store.listInStatus(status)))).flat()
}

export interface TargetRevocation {
  id: string
  requester: string
  principal: string
  /** The status found, and the status after the revocation was recorded. */
  was: GrantStatus
  status: GrantStatus
  /** Whether the policy was removed (and sessions ended) here, rather than left to the workflow. */
  accessRemoved: boolean
  sessionsTerminated: number
  /** Why the removal (or the recording) could not be done here; the workflow and reconciler go on. */
  error?: string
}

/**
 * Incident: ends every live grant on `target` now. Pending requests are denied; approved and
 * active grants are revoked (recorded, and their workflow woken, as any revoke); then each
 * grant's policy is removed and its principal's sessions on the target terminated right here,
 * without waiting for the workflow, which finds the work done. A removal that fails here is
 * reported and left to the workflow's retries and the reconciler: the revocation is recorded.
 */
export async function revokeTarget(
  deps: ControlDeps & { backend: AccessBackend },
  target: string,
  actor: Actor,
  reason: string,
): Promise<TargetRevocation[]> {
  findTarget(deps.config, target) // refuses a target that does not exist
  const onTarget = (await liveGrants(deps.store)).filter((grant) => grantTargets(grant).includes(target))
  const results: TargetRevocation[] = []
  for (const found of onTarget) {
    const result: TargetRevocation = {
      id: found.id,
      requester: found.requester,
      principal: found.principal,
      was: found.status,
      status: found.status,
      accessRemoved: false,
      sessionsTerminated: 0,
    }
    try {
      const recorded = await record(deps, found, actor, reason)
      result.status = recorded.status
      if (mayHoldAccess(recorded.status)) {
        result.sessionsTerminated = await removeAccess(deps, recorded)
        result.accessRemoved = true
      }
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error)
    }
    results.push(result)
  }
  return results
}

/** Records the end of one grant: a request denied, a grant revoked; a failed removal is left as it is. */
async function record(deps: ControlDeps, grant: Grant, actor: Actor, reason: string): Promise<Grant> {
  try {
    if (grant.status === 'PENDING') return await denyRequest(deps, grant.id, actor, reason)
    if (grant.status === 'APPROVED' || grant.status === 'ACTIVE') {
      return await revokeGrant(deps, grant.id, actor, reason)
    }
    return grant
  } catch (error) {
    // Decided meanwhile (approved, revoked by someone else, ended): act on what it is now.
    if (!(error instanceof GrantError)) throw error
    const current = await deps.store.get(grant.id)
    if (!current) throw error
    if (current.status !== grant.status) return record(deps, current, actor, reason)
    if (current.revocation) return current
    throw error
  }
}

/** The doctor counts unsent alerts up to this many ("1000 or more" is answer enough). */
export const UNSENT_ALERTS_COUNTED = 1000

export interface DoctorDeps {
  config: KeylessConfig
  store: GrantStore
  backend: Pick<AccessBackend, 'listGrantPolicies'>
  clock: Clock
  /** Where executions are asked about; without it that check is skipped (and says so). */
  workflow?: Pick<Workflow, 'latestExecution'>
  /** How many security alerts wait to be posted; without it that check is skipped. */
  unsentAlerts?: () => Promise<number>
  /**
   * The accounts whose principals are read (default: every one the config names). An operator's
   * own credentials reach the home account only: keyless acts in the others through agent roles
   * that trust keyless's own roles, and the reconciler sweeps them.
   */
  accounts?: 'every' | 'home'
}

export interface DoctorReport {
  orphanPolicies: { principal: string; policyName: string; grantId?: string; grantStatus?: GrantStatus }[]
  /** Principals whose policies could not be read (each a problem), and accounts not read from here. */
  unreadPrincipals: { principal: string; detail: string }[]
  accountsNotChecked: string[]
  /** The grant roles the config places, with their `keyless-*` policies (null when not read). */
  grantRoles: { roleArn: string; account: string; person: string; policies: string[] | null }[]
  /** Live grants (other than REVOKE_FAILED) with no running execution; null when not checked. */
  grantsWithoutExecution: { grantId: string; status: GrantStatus; latestExecution: string | null }[] | null
  revokeFailed: { grantId: string; target: string; principal: string; reason: string | null }[]
  /** null when not checked. */
  unsentAlerts: number | null
  problems: number
}

/**
 * What is wrong with a plane, read only: `keyless-*` policies with no live grant behind them,
 * live grants whose execution was lost, grants whose access could not be removed, security
 * alerts Slack has not taken yet. The reconciler repairs the first two and retries the third;
 * the doctor says what an operator should look at now.
 */
export async function doctor(deps: DoctorDeps): Promise<DoctorReport> {
  const live = await liveGrants(deps.store)
  const now = deps.clock.now()
  const home = deps.config.account
  const inAccount = deps.accounts === 'home' ? (account: string) => account === home : () => true
  const sweep = await findOrphanPolicies(
    deps,
    live.filter((grant) => mayHoldAccess(grant.status)),
    now,
    DEFAULT_RECONCILE_OPTIONS,
    inAccount,
  )
  let grantsWithoutExecution: DoctorReport['grantsWithoutExecution'] = null
  if (deps.workflow) {
    grantsWithoutExecution = []
    for (const grant of live.filter((candidate) => candidate.status !== 'REVOKE_FAILED')) {
      const latest = await deps.workflow.latestExecution(grant.id)
      if (!latest?.running) {
        grantsWithoutExecution.push({
          grantId: grant.id,
          status: grant.status,
          latestExecution: latest?.name ?? null,
        })
      }
    }
  }
  const revokeFailed = live
    .filter((grant) => grant.status === 'REVOKE_FAILED')
    .map((grant) => ({
      grantId: grant.id,
      target: grantTargets(grant).join(', '),
      principal: grant.principal,
      reason: grant.history.findLast((entry) => entry.action === 'revocation-failed')?.detail ?? null,
    }))
  const unsentAlerts = deps.unsentAlerts ? await deps.unsentAlerts() : null
  return {
    orphanPolicies: sweep.orphans.map(({ principal, policyName, grant }) => ({
      principal,
      policyName,
      ...(grant ? { grantId: grant.id, grantStatus: grant.status } : {}),
    })),
    unreadPrincipals: sweep.unread.map(({ principal, detail }) => ({ principal, detail })),
    accountsNotChecked: [...deps.config.accounts.values()]
      .map((account) => account.id)
      .filter((account) => !inAccount(account)),
    grantRoles: placedGrantRoles(deps.config).map(({ roleArn, account, slackUserId }) => ({
      roleArn,
      account,
      person: slackUserId,
      policies: sweep.read.get(roleArn) ?? null,
    })),
    grantsWithoutExecution,
    revokeFailed,
    unsentAlerts,
    problems:
      sweep.orphans.length +
      sweep.unread.length +
      (grantsWithoutExecution?.length ?? 0) +
      revokeFailed.length +
      (unsentAlerts ?? 0),
  }
}
