import type { Grant, LiveStatus } from './grant.ts'
import type { Transition } from './lifecycle.ts'

/** The grant store as the domain needs it: one method per access pattern. */
export interface GrantStore {
  /**
   * Writes a new grant unless one with its id exists. A replay of the same client token returns
   * the stored grant with `created: false`; nothing is written twice.
   */
  create(grant: Grant): Promise<{ grant: Grant; created: boolean }>
  get(id: string): Promise<Grant | undefined>
  /**
   * Applies `transition` to `current` in one conditional write: it succeeds only if the stored
   * grant still has `current`'s status and version, and it appends the history entry in the same
   * update. A lost race throws GrantError CONFLICT; the caller re-reads and decides again.
   */
  transition(current: Grant, transition: Transition): Promise<Grant>
  /**
   * Records the workflow's task token on `current` (conditional on its status and version, and
   * on no revocation having been asked for), so that whoever ends the wait can send it back.
   * Bumps the version: a decision made on the read before it retries and sees the token.
   * A lost race throws GrantError CONFLICT.
   */
  saveTaskToken(current: Grant, taskToken: string): Promise<Grant>
  /** Newest first. */
  listByRequester(requester: string, options?: { limit?: number }): Promise<Grant[]>
  listActiveByTarget(target: string): Promise<Grant[]>
  listActiveByPrincipal(principal: string): Promise<Grant[]>
  /** Every grant in a live status (the reconciler's view of what may hold access). */
  listInStatus(status: LiveStatus): Promise<Grant[]>
  /** ACTIVE grants whose expiry is at or before `now`, soonest first. */
  listDueForExpiry(now: Date): Promise<Grant[]>
  /**
   * Grants in a live status whose due time has come: PENDING by its approval deadline, ACTIVE
   * by its expiry, APPROVED and REVOKE_FAILED by when they entered that status (they are due
   * at once: the reconciler decides how long is too long).
   */
  listDue(status: LiveStatus, now: Date): Promise<Grant[]>
}
