import type { Clock } from '../clock.ts'
import type { KeylessConfig } from '../config/schema.ts'
import type { Workflow } from '../workflow/workflow.ts'
import type { Actor, Grant } from './grant.ts'
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
  warn: (message: string, details: Record<string, unknown>) => void
}

/** A new request: stored once per client token, and its workflow started (again, harmlessly, on a replay). */
export async function submitRequest(
  deps: ControlDeps,
  request: GrantRequest,
): Promise<{ grant: Grant; created: boolean }> {
  const now = deps.clock.now()
  const result = await deps.store.create(requestGrant(request, deps.config, now))
  await deps.workflow.start(result.grant, now)
  return result
}

export async function approveRequest(deps: ControlDeps, grantId: string, actor: Actor): Promise<Grant> {
  const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'approve' }, actor)
  if (grant.status === 'APPROVED')
    await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId }))
  return grant
}

export async function denyRequest(
  deps: ControlDeps,
  grantId: string,
  actor: Actor,
  reason?: string,
): Promise<Grant> {
  const grant = await actOnGrant(
    deps.store,
    deps.clock,
    grantId,
    { type: 'deny', ...(reason ? { reason } : {}) },
    actor,
  )
  await closeWait(deps, grant, 'denied')
  return grant
}

export async function cancelRequest(deps: ControlDeps, grantId: string, actor: Actor): Promise<Grant> {
  const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'cancel' }, actor)
  await closeWait(deps, grant, 'cancelled')
  return grant
}

/** Early revoke ("I'm done", an approver, an operator): effective as soon as the workflow wakes. */
export async function revokeGrant(
  deps: ControlDeps,
  grantId: string,
  actor: Actor,
  reason?: string,
): Promise<Grant> {
  const event = { type: 'request-revocation' as const, ...(reason ? { reason } : {}) }
  const grant = await actOnGrant(deps.store, deps.clock, grantId, event, actor)
  // While APPROVED, the attach task sees the revocation itself; only an active wait needs waking.
  if (grant.status === 'ACTIVE') {
    await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId, event: 'revoke' }))
  }
  return grant
}

export function requestExtension(
  deps: ControlDeps,
  grantId: string,
  actor: Actor,
  durationSeconds: number,
): Promise<Grant> {
  return actOnGrant(deps.store, deps.clock, grantId, { type: 'request-extension', durationSeconds }, actor)
}

/** Approves a pending extension; once enough approvers agree, the workflow replaces the policy. */
export async function approveExtension(deps: ControlDeps, grantId: string, actor: Actor): Promise<Grant> {
  const before = await deps.store.get(grantId)
  const grant = await actOnGrant(deps.store, deps.clock, grantId, { type: 'approve-extension' }, actor)
  if (grant.expiresAt !== before?.expiresAt) {
    await signal(deps, grant, (token) => deps.workflow.resume(token, { grantId, event: 'extend' }))
  }
  return grant
}

function closeWait(deps: ControlDeps, grant: Grant, how: string): Promise<void> {
  return signal(deps, grant, (token) =>
    deps.workflow.reject(token, 'RequestClosed', `the request was ${how}`),
  )
}

/**
 * Ends the wait whose token the grant holds, if it holds one (no token: the task that stores
 * it sees the change itself). The change is recorded; a lost signal costs time, never
 * correctness, so it is logged, not thrown.
 */
async function signal(
  deps: ControlDeps,
  grant: Grant,
  send: (token: string) => Promise<void>,
): Promise<void> {
  if (!grant.taskToken) return
  try {
    await send(grant.taskToken)
  } catch (error) {
    deps.warn('could not signal the grant workflow', { grantId: grant.id, error: String(error) })
  }
}
