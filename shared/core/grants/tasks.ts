import { setTimeout as sleep } from 'node:timers/promises'
import { type AccessBackend, grantPolicyName, type TargetInstances } from '../access/backend.ts'
import type { GrantRoleWanted } from '../access/grant-role-steps.ts'
import { connectionInstructions } from '../access/instructions.ts'
import { type IamPrincipal, parsePrincipalArn } from '../aws/arn.ts'
import type { Clock } from '../clock.ts'
import { findTarget } from '../config/lookup.ts'
import type { KeylessConfig, TargetConfig } from '../config/schema.ts'
import { KeylessError } from '../errors.ts'
import type { Warn } from '../log.ts'
import type { Notice, Notifier } from '../notify/notifier.ts'
import { policyForGrant } from '../policy/grant-policy.ts'
import { isGrantRoleArn } from '../policy/grant-role.ts'
import { placeGrant } from '../policy/placement.ts'
import { WORKFLOW_ERRORS } from '../workflow/errors.ts'
import {
  DEFAULT_EXPIRY_WARNING_SECONDS,
  expiryWaitPayload,
  secondsUntil,
  type WorkflowCallbacks,
  type WorkflowPayload,
  WorkflowSignal,
} from '../workflow/workflow.ts'
import {
  type Actor,
  type Grant,
  type GrantPlacement,
  grantPlacements,
  grantTargets,
  mayHoldAccess,
} from './grant.ts'
import { decide, type GrantEvent } from './lifecycle.ts'
import { loadGrant, retryOnConflict } from './service.ts'
import type { GrantStore } from './store.ts'

/**
 * What each task of the grant workflow does (statemachines/grant.asl.json). Each is one
 * idempotent action on one grant: a retried task finds the work done and carries on. The
 * state machine owns time, waiting and retries; these functions own what is true.
 */

export interface TaskDeps {
  config: KeylessConfig
  store: GrantStore
  backend: AccessBackend
  notifier: Notifier
  workflow: WorkflowCallbacks
  clock: Clock
  /** Where a failure that must not stop the work (a notification) is reported. */
  warn: Warn
  /** How long before expiry the requester is warned (default five minutes). */
  expiryWarningSeconds?: number
}

const WORKFLOW: Actor = { kind: 'system', id: 'workflow' }

/**
 * Ask for approval: stores the wait's token on the grant, then asks its approvers, unless they
 * were asked already (the wait after the reminder).
 */
export async function askForApproval(
  deps: TaskDeps,
  input: { grantId: string; taskToken: string; asked?: boolean },
): Promise<void> {
  const grant = await retryOnConflict(deps.store, input.grantId, async (current) => {
    if (current.status !== 'PENDING') return current
    return deps.store.saveTaskToken(current, input.taskToken)
  })
  // Decided before the token was stored (a retried task): end the wait the way it was decided.
  if (grant.status === 'APPROVED') return deps.workflow.resume(input.taskToken, { grantId: grant.id })
  if (grant.status !== 'PENDING') {
    return deps.workflow.reject(
      input.taskToken,
      WORKFLOW_ERRORS.requestClosed,
      `${grant.id} is ${grant.status}`,
    )
  }
  if (!input.asked) await tell(deps, { kind: 'approval-requested', grant })
}

/** Halfway to the deadline: reminds the approvers still to decide; the wait then runs to the deadline. */
export async function remindApprovers(deps: TaskDeps, input: { grantId: string }): Promise<WorkflowPayload> {
  const grant = await loadGrant(deps.store, input.grantId)
  if (grant.status === 'APPROVED')
    throw new WorkflowSignal(WORKFLOW_ERRORS.grantApproved, `${grant.id} was approved`)
  if (grant.status !== 'PENDING')
    throw new WorkflowSignal(WORKFLOW_ERRORS.requestClosed, `${grant.id} is ${grant.status}`)
  await tell(deps, { kind: 'approval-reminder', grant })
  return {
    grantId: grant.id,
    asked: true,
    remind: false,
    timeoutSeconds: secondsUntil(grant.decideBy, deps.clock.now()),
  }
}

/**
 * Five minutes before expiry: warns the requester (with a way to ask for more) unless the
 * grant changed meanwhile; the next wait notices a change and acts on it.
 */
export async function warnOfExpiry(
  deps: TaskDeps,
  input: { grantId: string; expiresAt: string },
): Promise<WorkflowPayload> {
  const grant = await loadGrant(deps.store, input.grantId)
  if (grant.status === 'ACTIVE' && !grant.revocation && grant.expiresAt === input.expiresAt) {
    await tell(deps, { kind: 'expiring-soon', grant })
  }
  return { ...waitPayload(deps, { ...grant, expiresAt: input.expiresAt }, false), grantId: input.grantId }
}

/** The approval wait timed out: the request ends TIMED_OUT, unless a decision beat the clock. */
export async function timeOutRequest(deps: TaskDeps, input: { grantId: string }): Promise<void> {
  const grant = await retryOnConflict(deps.store, input.grantId, async (current) => {
    if (current.status !== 'PENDING') return current
    // The task's timeout fires at or after the deadline; the clock may lag it by a moment.
    const now = laterOf(deps.clock.now(), current.decideBy)
    return deps.store.transition(current, decide(current, { type: 'time-out' }, WORKFLOW, now))
  })
  if (grant.status === 'APPROVED') {
    throw new WorkflowSignal(
      WORKFLOW_ERRORS.grantApproved,
      `${grant.id} was approved as its request timed out`,
    )
  }
  if (grant.status === 'TIMED_OUT')
    await tell(deps, { kind: 'request-closed', grant, reason: 'no decision in time' })
}

/**
 * Attach access: attaches the grant's policy, then marks it ACTIVE with the same instant as
 * the policy's start, so the policy's expiry and the grant's agree to the second.
 */
export async function attachAccess(deps: TaskDeps, input: { grantId: string }): Promise<WorkflowPayload> {
  const grant = await retryOnConflict(deps.store, input.grantId, async (current) => {
    if (current.status === 'ACTIVE' && !current.revocation) return current // a retry after success
    if (current.status !== 'APPROVED' || current.revocation) {
      throw new WorkflowSignal(
        WORKFLOW_ERRORS.grantRevoked,
        `${current.id} is ${current.status.toLowerCase()}${current.revocation ? ' and revoked' : ''}`,
      )
    }
    const transition = decide(current, { type: 'activate' }, WORKFLOW, deps.clock.now())
    const expiresAt = transition.set.expiresAt ?? ''
    await putGrantPolicy(deps, current, expiresAt)
    return deps.store.transition(current, transition)
  })
  const expiresAt = grant.expiresAt ?? ''
  const instructions: string[] = []
  for (const target of grantTargets(grant).map((name) => findTarget(deps.config, name))) {
    const instances = await deps.backend.listInstances(instancesOf(target)).catch((error: unknown) => {
      // Only the message needs them: it falls back to <instance-id>, access is attached all the same.
      deps.warn('could not list the target instances for the access message', {
        grantId: grant.id,
        error,
      })
      return undefined
    })
    instructions.push(
      ...connectionInstructions(
        target,
        target.account.regions,
        expiresAt,
        instances,
        grantRoleFor(grant, target.name),
      ),
    )
  }
  await tell(deps, { kind: 'access-active', grant, instructions })
  return waitPayload(deps, grant)
}

/**
 * Wait for expiry, extension or revoke: stores the wait's token so a revoke or an approved
 * extension can end it. Whatever already happened ends it at once.
 */
export async function waitForEnd(
  deps: TaskDeps,
  input: { grantId: string; taskToken: string; expiresAt?: string },
): Promise<void> {
  let event: 'revoke' | 'extend' | undefined
  await retryOnConflict(deps.store, input.grantId, async (current) => {
    event = undefined
    if (current.status !== 'ACTIVE' || current.revocation) event = 'revoke'
    else if (current.expiresAt !== input.expiresAt) event = 'extend'
    else return deps.store.saveTaskToken(current, input.taskToken)
    return current
  })
  if (event) await deps.workflow.resume(input.taskToken, { grantId: input.grantId, event })
}

/** Extend access: replaces the policy with one ending at the grant's new expiry. */
export async function extendAccess(deps: TaskDeps, input: { grantId: string }): Promise<WorkflowPayload> {
  const grant = await loadGrant(deps.store, input.grantId)
  if (grant.status !== 'ACTIVE' || grant.revocation || !grant.expiresAt) {
    throw new WorkflowSignal(WORKFLOW_ERRORS.grantRevoked, `${grant.id} is no longer active`)
  }
  await putGrantPolicy(deps, grant, grant.expiresAt)
  await tell(deps, { kind: 'access-extended', grant })
  return waitPayload(deps, grant)
}

/**
 * Revoke access: removes the policy, ends the principal's live sessions on the target (a
 * removed policy does not end an open session), then marks the grant EXPIRED or REVOKED.
 */
export async function revokeAccess(
  deps: TaskDeps,
  input: { grantId: string },
): Promise<{ grantId: string; status: Grant['status']; sessionsTerminated: number }> {
  const before = await loadGrant(deps.store, input.grantId)
  // The expiry wait ends up to a second early (whole seconds); access ends at expiry, not before.
  const early =
    before.revocation || !before.expiresAt ? 0 : Date.parse(before.expiresAt) - deps.clock.now().getTime()
  // One millisecond more: a timer can fire a millisecond before the wall clock reaches its instant.
  if (early > 0) await sleep(Math.min(early, MAX_EARLY_MS) + 1)
  const sessionsTerminated = await removeAccess(deps, before)
  const { grant, endedNow } = await endGrant(deps, before.id, WORKFLOW)
  // A restarted execution may find the grant ended already: the requester was told then.
  if (endedNow) {
    await tell(deps, { kind: 'access-ended', grant, sessionsTerminated })
  }
  return { grantId: grant.id, status: grant.status, sessionsTerminated }
}

/** Activation failed for good: removes whatever was attached and marks the grant FAILED. */
export async function failActivation(
  deps: TaskDeps,
  input: { grantId: string; reason: string },
): Promise<void> {
  const before = await loadGrant(deps.store, input.grantId)
  try {
    await removeAccess(deps, before)
  } catch (error) {
    // The reconciler removes a policy left behind by a FAILED grant.
    deps.warn('could not remove access after a failed activation', {
      grantId: before.id,
      error,
    })
  }
  const grant = await retryOnConflict(deps.store, input.grantId, async (current) => {
    if (current.status !== 'APPROVED') return current
    const event: GrantEvent = { type: 'fail-activation', reason: input.reason }
    return deps.store.transition(current, decide(current, event, WORKFLOW, deps.clock.now()))
  })
  if (grant.status === 'FAILED') await tell(deps, { kind: 'request-closed', grant, reason: input.reason })
}

/**
 * Revocation failed for good: marks REVOKE_FAILED and alerts the security channel. The alert
 * is the point (someone may still have access), so unlike other notices its failure is not
 * passed over: the task fails with AlertNotSent and the state machine sends it again.
 */
export async function markRevocationFailed(
  deps: TaskDeps,
  input: { grantId: string; reason: string },
): Promise<void> {
  const grant = await retryOnConflict(deps.store, input.grantId, async (current) => {
    // A retried task (the alert failed) finds the grant marked already: one history entry.
    if (current.status !== 'APPROVED' && current.status !== 'ACTIVE') return current
    const event: GrantEvent = { type: 'fail-revocation', reason: input.reason }
    return deps.store.transition(current, decide(current, event, WORKFLOW, deps.clock.now()))
  })
  try {
    await deps.notifier.send({ kind: 'revocation-failed', grant, reason: input.reason })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new AlertNotSentError(`the security alert for ${grant.id} was not sent: ${reason}`, {
      cause: error,
    })
  }
}

/** A security alert that must reach the channel did not: the state machine retries the task. */
export class AlertNotSentError extends Error {
  override name = WORKFLOW_ERRORS.alertNotSent
}

/**
 * Puts the grant's policies, valid until `expiresAt`: one per account, on the person's principal
 * there — first making their grant role what the config says when the principal is one (created
 * on first use, its trust kept the config's, never written once its boundary was lifted). All or
 * nothing: when one account's fails, the policies put in the others are taken off again before
 * the failure is passed on (the workflow retries, then fails the grant).
 */
async function putGrantPolicy(
  deps: Pick<TaskDeps, 'config' | 'backend' | 'warn'>,
  grant: Grant,
  expiresAt: string,
): Promise<void> {
  const put: IamPrincipal[] = []
  try {
    for (const placement of grantPlacements(grant)) {
      const { policy, principal } = policyForGrant(
        deps.config,
        {
          target: placement.targets[0] ?? grant.target,
          targets: placement.targets,
          principal: placement.principal,
        },
        expiresAt,
      )
      const grantRole = grantRoleOf(deps.config, grant, placement)
      if (grantRole) {
        const { untagged } = await deps.backend.prepareGrantRole(grantRole)
        if (untagged)
          deps.warn('a grant role is not tagged with its person; the grant goes on', { reason: untagged })
      }
      await deps.backend.attachPolicy(principal, grantPolicyName(grant.id), policy)
      put.push(principal)
    }
  } catch (error) {
    // A policy already there from an earlier attempt stays only if this attempt put it again.
    if (grantPlacements(grant).length > 1) {
      for (const principal of put) {
        await deps.backend.detachPolicy(principal, grantPolicyName(grant.id)).catch((undo: unknown) =>
          deps.warn('could not take back a policy of a grant whose other account failed', {
            grantId: grant.id,
            principal: principal.arn,
            error: undo,
          }),
        )
      }
    }
    throw error
  }
}

/** The grant role a placement's policy goes on, as the config places it; undefined for a person's own principal. */
function grantRoleOf(
  config: KeylessConfig,
  grant: Grant,
  placement: GrantPlacement,
): GrantRoleWanted | undefined {
  const person = config.people.get(grant.requester)
  if (!person) {
    // Removed from the config since the request: nothing says whose role it is any more.
    if (!isGrantRoleArn(placement.principal)) return undefined
    throw new KeylessError(
      'UNKNOWN_PERSON',
      `${grant.id} is for ${grant.requester}, who is no longer in the config: their grant role is not written`,
    )
  }
  const placed = placeGrant(config, person, findTarget(config, placement.targets[0] ?? grant.target))
  if (!placed.grantRole) return undefined
  if (placed.principal !== placement.principal) {
    throw new KeylessError(
      'INVALID_PRINCIPAL',
      `${grant.id} names ${placement.principal}, but the config now places ${grant.requester}'s grants on ${placed.principal}`,
    )
  }
  return { roleArn: placed.principal, ...placed.grantRole }
}

/** The grant role a target's policy is on, if it is one: what the person assumes to use it. */
function grantRoleFor(grant: Grant, target: string): string | undefined {
  const principal = grantPlacements(grant).find((placement) => placement.targets.includes(target))?.principal
  return principal && isGrantRoleArn(principal) ? principal : undefined
}

/** A target's instances: tagged so, in its account's regions. */
const instancesOf = (target: TargetConfig): TargetInstances => ({
  account: target.account.id,
  tagKey: target.tagKey,
  tagValue: target.tagValue,
  regions: target.account.regions,
})

/** Detaches the grant's policies and terminates its principals' sessions on each of its targets; returns how many. */
export async function removeAccess(
  deps: Pick<TaskDeps, 'config' | 'backend'>,
  grant: Grant,
): Promise<number> {
  let terminated = 0
  for (const placement of grantPlacements(grant)) {
    const principal = principalOf(grant, placement.principal)
    await deps.backend.detachPolicy(principal, grantPolicyName(grant.id))
    for (const name of placement.targets) {
      const target = deps.config.targets.get(name)
      // A target removed from the config since has no instances keyless can name.
      if (!target) continue
      const sessions = await deps.backend.listActiveSessions(principal, instancesOf(target))
      for (const session of sessions) await deps.backend.terminateSession(session)
      terminated += sessions.length
    }
  }
  return terminated
}

/**
 * Ends a grant whose access was removed: REVOKED if revocation was asked for, else EXPIRED.
 * `endedNow` says whether this call ended it (rather than finding it ended).
 */
export async function endGrant(
  deps: Pick<TaskDeps, 'store' | 'clock'>,
  grantId: string,
  actor: Actor,
): Promise<{ grant: Grant; endedNow: boolean }> {
  let endedNow = false
  const grant = await retryOnConflict(deps.store, grantId, async (current) => {
    endedNow = false
    if (!mayHoldAccess(current.status)) return current // already ended
    endedNow = true
    // The expiry wait's timeout fires at or after expiry; the clock may lag it by a moment.
    const now =
      current.revocation || !current.expiresAt
        ? deps.clock.now()
        : laterOf(deps.clock.now(), current.expiresAt)
    return deps.store.transition(current, decide(current, { type: 'end' }, actor, now))
  })
  return { grant, endedNow }
}

const waitPayload = (
  deps: Pick<TaskDeps, 'clock' | 'expiryWarningSeconds'>,
  grant: Grant,
  warnFirst = true,
): WorkflowPayload =>
  expiryWaitPayload(
    grant,
    deps.clock.now(),
    deps.expiryWarningSeconds ?? DEFAULT_EXPIRY_WARNING_SECONDS,
    warnFirst,
  )

export function principalOf(grant: Grant, arn = grant.principal): IamPrincipal {
  const principal = parsePrincipalArn(arn)
  if (!principal) throw new KeylessError('INVALID_PRINCIPAL', `${grant.id} names no IAM principal: ${arn}`)
  return principal
}

/** Notifications never stop access from being granted or removed: a failure is logged and passed over. */
export async function tell(deps: Pick<TaskDeps, 'notifier' | 'warn'>, notice: Notice): Promise<void> {
  try {
    await deps.notifier.send(notice)
  } catch (error) {
    deps.warn('notification failed', { kind: notice.kind, error })
  }
}

/** The most the expiry wait can end early: its whole-second rounding, plus a margin for clock skew. */
const MAX_EARLY_MS = 1500

const laterOf = (now: Date, instant: string): Date => new Date(Math.max(now.getTime(), Date.parse(instant)))
