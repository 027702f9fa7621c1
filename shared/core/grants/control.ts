import type { Clock } from '../clock.ts'
import { isoSeconds } from '../clock.ts'
import { isUserGroup, type KeylessConfig } from '../config/schema.ts'
import type { Warn } from '../log.ts'
import { WORKFLOW_ERRORS } from '../workflow/errors.ts'
import type { Workflow } from '../workflow/workflow.ts'
import { GrantError } from './errors.ts'
import { type Actor, type Grant, isLive } from './grant.ts'
import { type GrantRequest, requestGrant } from './lifecycle.ts'
import { actOnGrant } from './service.ts'
import type { GrantStore } from './store.ts'

/**
 * What people do to grants from outside the workflow (Slack, the CLI): each records the change
 * on the grant first, then ends the workflow's wait that the change concerns. The grant is the
 * source of truth; a signal that cannot be delivered is picked up by the task that stores the
 * next token (it sees the change and ends its own wait).
 */

export interface ControlDeps {
  config: KeylessConfig
  store: GrantStore
  workflow: Workflow
  clock: Clock
  warn: Warn
  /** Where Slack user groups named as approvers are read (Slack's Web API); absent, none can be. */
  directory?: ApproverDirectory
}

/** Where a Slack user group's members are read, each time a request names the group's target. */
export interface ApproverDirectory {
  userGroupMembers(groupId: string): Promise<string[]>
}

/** What acting on an existing grant needs: the rules were fixed on the grant when it was requested. */
export type GrantActionDeps = Omit<ControlDeps, 'config'>

/** A new request: stored once per client token, and its workflow started (again, harmlessly, on a replay). */
export async function submitRequest(
  deps: ControlDeps,
  request: GrantRequest,
): Promise<{ grant: Grant; created: boolean }> {
  const now = deps.clock.now()
  const groupMembers = await approverGroups(deps, request.targets ?? [request.target])
  const result = await deps.store.create(requestGrant(request, deps.config, now, groupMembers))
  // A replay of a request that has since ended has nothing left to run.
  if (isLive(result.grant.status)) await deps.workflow.start(result.grant, now)
  return result
}

/**
 * The members of the Slack user groups among the target's approvers, read now. A group that
 * cannot be read refuses the request with the reason: the approvers are never widened or
 * emptied silently.
 */
async function approverGroups(deps: ControlDeps, targetNames: string[]): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>()
  const named = targetNames.flatMap((name) => deps.config.targets.get(name)?.approvers ?? [])
  for (const group of [...new Set(named.filter(isUserGroup))]) {
    const targetName = targetNames.find((name) => deps.config.targets.get(name)?.approvers.includes(group))
    if (!deps.directory) {
      throw new GrantError(
        'APPROVER_GROUP_UNREADABLE',
        `${targetName}'s approvers include the Slack user group ${group}, and this control plane has no Slack to read it from. Nothing was requested.`,
      )
    }
    try {
      members.set(group, await deps.directory.userGroupMembers(group))
    } catch (error) {
      deps.warn('could not read an approving user group', { group, error })
      throw new GrantError(
        'APPROVER_GROUP_UNREADABLE',
        `Could not read the Slack user group ${group}, whose members approve ${targetName} (${error instanceof Error ? error.message : String(error)}). Nothing was requested; try again, or ask an admin.`,
      )
    }
  }
  return members
}

export function approveRequest(deps: GrantActionDeps, grantId: string, actor: Actor): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'approve', async () => {
    const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'approve' }, actor)
    if (grant.status === 'APPROVED')
      await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId }))
    return grant
  })
}

export function denyRequest(
  deps: GrantActionDeps,
  grantId: string,
  actor: Actor,
  reason?: string,
): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'deny', async () => {
    const event = { type: 'deny' as const, ...(reason ? { reason } : {}) }
    const grant = await actOnGrant(deps.store, deps.clock, grantId, event, actor)
    await closeWait(deps, grant, 'denied')
    return grant
  })
}

export function cancelRequest(deps: GrantActionDeps, grantId: string, actor: Actor): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'cancel', async () => {
    const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'cancel' }, actor)
    await closeWait(deps, grant, 'cancelled')
    return grant
  })
}

/** Early revoke ("I'm done", an approver, an operator): effective as soon as the workflow wakes. */
export function revokeGrant(
  deps: GrantActionDeps,
  grantId: string,
  actor: Actor,
  reason?: string,
): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'revoke', async () => {
    const event = { type: 'request-revocation' as const, ...(reason ? { reason } : {}) }
    const grant = await actOnGrant(deps.store, deps.clock, grantId, event, actor)
    // While APPROVED, the attach task sees the revocation itself; only an active wait needs waking.
    if (grant.status === 'ACTIVE') {
      await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId, event: 'revoke' }))
    }
    return grant
  })
}

/**
 * Asks for more time on an active grant. On an auto-approved target keyless approves it at
 * once, and the workflow replaces the policy; elsewhere it waits for the grant's approvers.
 */
export function requestExtension(
  deps: GrantActionDeps,
  grantId: string,
  actor: Actor,
  durationSeconds: number,
): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'extend', async () => {
    const event = { type: 'request-extension' as const, durationSeconds }
    const grant = await actOnGrant(deps.store, deps.clock, grantId, event, actor)
    return grant.autoApprove ? approveExtensionAs(deps, grantId, SYSTEM) : grant
  })
}

/** Approves a pending extension; once enough approvers agree, the workflow replaces the policy. */
export function approveExtension(deps: GrantActionDeps, grantId: string, actor: Actor): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'approve the extension of', () =>
    approveExtensionAs(deps, grantId, actor),
  )
}

export function denyExtension(deps: GrantActionDeps, grantId: string, actor: Actor): Promise<Grant> {
  return recordingRefusals(deps, grantId, actor, 'deny the extension of', () =>
    actOnGrant(deps.store, deps.clock, grantId, { type: 'deny-extension' }, actor),
  )
}

const SYSTEM: Actor = { kind: 'system', id: 'workflow' }

async function approveExtensionAs(deps: GrantActionDeps, grantId: string, actor: Actor): Promise<Grant> {
  const before = await deps.store.get(grantId)
  const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'approve-extension' }, actor)
  if (grant.expiresAt !== before?.expiresAt) {
    await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId, event: 'extend' }))
  }
  return grant
}

/**
 * Runs a person's action on a grant; when the rules refuse it, the refusal is recorded in the
 * grant's history (who tried what, and why it was refused) before it is passed on. A refusal
 * that cannot be recorded is logged: the person still hears why.
 */
async function recordingRefusals(
  deps: GrantActionDeps,
  grantId: string,
  actor: Actor,
  attempt: string,
  act: () => Promise<Grant>,
): Promise<Grant> {
  try {
    return await act()
  } catch (error) {
    if (error instanceof GrantError && error.code !== 'GRANT_NOT_FOUND' && error.code !== 'CONFLICT') {
      await recordRefusal(deps, grantId, actor, `${attempt}: ${error.message}`)
    }
    throw error
  }
}

async function recordRefusal(deps: GrantActionDeps, grantId: string, actor: Actor, detail: string) {
  try {
    const grant = await deps.store.get(grantId)
    if (!grant) return
    const at = isoSeconds(deps.clock.now())
    const entry = { at, actor, action: 'refused' as const, from: grant.status, to: grant.status, detail }
    if (!(await deps.store.recordRefusal(grantId, entry))) {
      deps.warn('refusal not recorded: the grant history is full', { grantId, actor, detail })
    }
  } catch (error) {
    deps.warn('could not record a refusal', { grantId, detail, error })
  }
}

function closeWait(deps: GrantActionDeps, grant: Grant, how: string): Promise<void> {
  return signal(deps, grant, (token) =>
    deps.workflow.reject(token, WORKFLOW_ERRORS.requestClosed, `the request was ${how}`),
  )
}

/**
 * Ends the wait whose token the grant holds, if it holds one (no token: the task that stores
 * it sees the change itself). The change is recorded; a lost signal costs time, never
 * correctness, so it is logged, not thrown.
 */
async function signal(
  deps: GrantActionDeps,
  grant: Grant,
  send: (token: string) => Promise<void>,
): Promise<void> {
  if (!grant.taskToken) return
  try {
    await send(grant.taskToken)
  } catch (error) {
    deps.warn('could not signal the grant workflow', { grantId: grant.id, error })
  }
}
