import type { Clock } from '../clock.ts'
import { GrantError } from './errors.ts'
import type { Actor, Grant } from './grant.ts'
import { decide, type GrantEvent } from './lifecycle.ts'
import type { GrantStore } from './store.ts'

/** How often a step is re-run on a fresh read after losing a race; more means real contention. */
const ATTEMPTS = 5

export async function loadGrant(store: GrantStore, grantId: string): Promise<Grant> {
  const grant = await store.get(grantId)
  if (!grant) throw new GrantError('GRANT_NOT_FOUND', `There is no grant ${grantId}.`)
  return grant
}

/**
 * Reads the grant and runs `step` on it; when another writer got there first (CONFLICT), reads
 * again and runs it again, so no decision is ever made on a stale grant.
 */
export async function retryOnConflict(
  store: GrantStore,
  grantId: string,
  step: (current: Grant) => Promise<Grant>,
): Promise<Grant> {
  for (let attempt = 1; ; attempt++) {
    const current = await loadGrant(store, grantId)
    try {
      return await step(current)
    } catch (error) {
      if (!(error instanceof GrantError && error.code === 'CONFLICT') || attempt >= ATTEMPTS) throw error
    }
  }
}

/**
 * Decides `event` on the stored grant and stores the result, re-deciding on a fresh read after
 * a lost race: two approvers clicking at once are both counted.
 */
export function actOnGrant(
  store: GrantStore,
  clock: Clock,
  grantId: string,
  event: GrantEvent,
  actor: Actor,
): Promise<Grant> {
  return retryOnConflict(store, grantId, (grant) =>
    store.transition(grant, decide(grant, event, actor, clock.now())),
  )
}
