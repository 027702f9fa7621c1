import { addSeconds } from '../../shared/core/clock.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import type { Actor, Grant } from '../../shared/core/grants/grant.ts'
import {
  applyTransition,
  decide,
  type GrantEvent,
  type GrantRequest,
  requestGrant,
} from '../../shared/core/grants/lifecycle.ts'

export const T0 = new Date('2026-11-23T10:00:00Z')
export const at = (seconds: number): Date => addSeconds(T0, seconds)

export const alice: Actor = { kind: 'slack', id: 'U0ALICE' }
export const manager1: Actor = { kind: 'slack', id: 'U0MANAGER1' }
export const manager2: Actor = { kind: 'slack', id: 'U0MANAGER2' }
export const bob: Actor = { kind: 'slack', id: 'U0BOB' }
export const mallory: Actor = { kind: 'slack', id: 'U0MALLORY' }
export const workflow: Actor = { kind: 'system', id: 'workflow' }
export const reconciler: Actor = { kind: 'system', id: 'reconciler' }
export const operator: Actor = { kind: 'operator', id: 'arn:aws:iam::111122223333:role/ops' }

let tokens = 0
/** A request from Alice for 30 minutes of prod-db, with a fresh client token. */
export function aliceRequest(overrides: Partial<GrantRequest> = {}): GrantRequest {
  tokens += 1
  return {
    clientToken: `trigger-${tokens}`,
    target: 'prod-db',
    requester: 'U0ALICE',
    durationSeconds: 1800,
    reason: 'fixing replication lag',
    ...overrides,
  }
}

/** Applies events in order, as the store would, and returns the resulting grant. */
export function advance(grant: Grant, steps: [GrantEvent, Actor, Date][]): Grant {
  return steps.reduce(
    (current, [event, actor, now]) => applyTransition(current, decide(current, event, actor, now)),
    grant,
  )
}

export const pendingGrant = (config: KeylessConfig, overrides: Partial<GrantRequest> = {}, now = T0): Grant =>
  requestGrant(aliceRequest(overrides), config, now)

/** Alice's prod-db grant, approved by her manager and activated at T0 + 60s, expiring 30 minutes later. */
export const activeGrant = (config: KeylessConfig, overrides: Partial<GrantRequest> = {}): Grant =>
  advance(pendingGrant(config, overrides), [
    [{ type: 'approve' }, bob, at(30)],
    [{ type: 'activate' }, workflow, at(60)],
  ])
