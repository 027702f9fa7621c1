import type { Clock } from '../clock.ts'
import { GrantError } from './errors.ts'
import type { Actor, Grant } from './grant.ts'
import { decide, type GrantEvent } from './lifecycle.ts'
import type { GrantStore } from './store.ts'

/** How often a decision is re-made on a fresh read after losing a race; more means contention. */
const ATTEMPTS = 3

/**
 * Reads a grant, decides `event` on it and stores the result; when another writer got there
 * first (CONFLICT), reads again and decides again, so two approvers clicking at once are both
 * counted and a decision is never made on a stale grant.
 */
export async function actOnGrant(
  store: GrantStore,
  clock: Clock,
  grantId: string,
  event: GrantEvent,
  actor: Actor,
): Promise<Grant> {
  for (let attempt = 1; ; attempt++) {
    const grant = await store.get(grantId)
    if (!grant) throw new GrantError('GRANT_NOT_FOUND', `There is no grant ${grantId}.`)
    try {
      return await store.transition(grant, decide(grant, event, actor, clock.now()))
    } catch (error) {
      if (!(error instanceof GrantError && error.code === 'CONFLICT') || attempt >= ATTEMPTS) throw error
    }
  }
}
