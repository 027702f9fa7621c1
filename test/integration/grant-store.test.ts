import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { grantKey } from '../../shared/adapters/dynamodb/keys.ts'
import type { Clock } from '../../shared/core/clock.ts'
import { GrantError } from '../../shared/core/grants/errors.ts'
import type { Grant } from '../../shared/core/grants/grant.ts'
import { applyTransition, decide } from '../../shared/core/grants/lifecycle.ts'
import { actOnGrant } from '../../shared/core/grants/service.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import {
  activeGrant,
  advance,
  alice,
  at,
  bob,
  manager1,
  manager2,
  pendingGrant,
  T0,
  workflow,
} from '../kit/grants.ts'

const config = specConfig()
let db: EmbeddedDynamo

beforeAll(async () => {
  db = await startEmbeddedDynamo()
})
afterAll(async () => {
  await db?.close()
})
beforeEach(() => {
  db.commands.length = 0
})

async function itemCount(): Promise<number> {
  const { Count } = await db.client.send(new ScanCommand({ TableName: db.tableName, Select: 'COUNT' }))
  return Count ?? 0
}

const clockAt = (date: Date): Clock => ({ now: () => date })

describe('creating grants', () => {
  it('stores a grant and reads it back unchanged', async () => {
    const grant = pendingGrant(config)
    await expect(db.store.create(grant)).resolves.toEqual({ grant, created: true })
    await expect(db.store.get(grant.id)).resolves.toEqual(grant)
  })

  it('turns a replayed create into a no-op that returns the first grant', async () => {
    const before = await itemCount()
    const first = pendingGrant(config, { clientToken: 'slack-trigger-replayed' })
    // Slack retries the same trigger seconds later: same token, later clock.
    const replay = pendingGrant(config, { clientToken: 'slack-trigger-replayed' }, at(3))
    await db.store.create(first)
    const replayed = await db.store.create(replay)
    expect(replayed).toEqual({ grant: first, created: false })
    expect(await itemCount()).toBe(before + 1)
  })

  it('refuses to merge two different requests that map to one id', async () => {
    const grant = pendingGrant(config)
    await db.store.create(grant)
    const impostor = { ...grant, clientToken: 'another-token' }
    await expect(db.store.create(impostor)).rejects.toMatchObject({ code: 'CLIENT_TOKEN_COLLISION' })
    await expect(db.store.get(grant.id)).resolves.toEqual(grant)
  })

  it('answers undefined for an unknown id', async () => {
    await expect(db.store.get('g-0000000000')).resolves.toBeUndefined()
  })

  it('refuses to read back an item that is not a grant', async () => {
    await db.client.send(
      new PutCommand({ TableName: db.tableName, Item: { ...grantKey('g-broken0000'), status: 'WHATEVER' } }),
    )
    await expect(db.store.get('g-broken0000')).rejects.toThrow(/grant item GRANT#g-broken0000 is malformed/)
  })
})

describe('transitions', () => {
  it('writes once, appending the history entry in the same update', async () => {
    const grant = pendingGrant(config)
    await db.store.create(grant)
    db.commands.length = 0
    const transition = decide(grant, { type: 'approve' }, manager1, at(10))
    const stored = await db.store.transition(grant, transition)
    expect(db.commands).toEqual(['UpdateItem'])
    expect(stored).toEqual(applyTransition(grant, transition))
    await expect(db.store.get(grant.id)).resolves.toEqual(stored)
  })

  it('lets exactly one of two concurrent decisions win', async () => {
    const grant = pendingGrant(config)
    await db.store.create(grant)
    const approve = decide(grant, { type: 'approve' }, manager1, at(10))
    const deny = decide(grant, { type: 'deny' }, manager2, at(10))
    const results = await Promise.allSettled([
      db.store.transition(grant, approve),
      db.store.transition(grant, deny),
    ])
    const won = results.filter((result) => result.status === 'fulfilled')
    const lost = results.filter((result) => result.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(GrantError)
    expect((lost[0] as PromiseRejectedResult).reason.code).toBe('CONFLICT')
    const stored = await db.store.get(grant.id)
    expect(stored?.version).toBe(2)
    expect(stored?.history).toHaveLength(2)
    expect(stored).toEqual((won[0] as PromiseFulfilledResult<Grant>).value)
  })

  it('refuses a transition decided on a stale read', async () => {
    const grant = pendingGrant(config)
    await db.store.create(grant)
    await db.store.transition(grant, decide(grant, { type: 'approve' }, manager1, at(10)))
    // The same approval replayed from the old read (a retried Lambda) changes nothing.
    await expect(
      db.store.transition(grant, decide(grant, { type: 'approve' }, manager1, at(10))),
    ).rejects.toMatchObject({ code: 'CONFLICT' })
    expect((await db.store.get(grant.id))?.history).toHaveLength(2)
  })

  it('counts both of two approvers racing under the two-person rule', async () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvals = 2
    const grant = pendingGrant(configFrom(raw))
    await db.store.create(grant)
    const clock = clockAt(at(10))
    await Promise.all([
      actOnGrant(db.store, clock, grant.id, { type: 'approve' }, manager1),
      actOnGrant(db.store, clock, grant.id, { type: 'approve' }, manager2),
    ])
    const stored = await db.store.get(grant.id)
    expect(stored?.status).toBe('APPROVED')
    expect(stored?.approvals.map((approval) => approval.by).sort()).toEqual(['U0MANAGER1', 'U0MANAGER2'])
    expect(stored?.history.map((entry) => entry.action)).toEqual([
      'requested',
      'approval-recorded',
      'approved',
    ])
  })

  it('turns a refused act into a GrantError and writes nothing', async () => {
    const grant = pendingGrant(config)
    await db.store.create(grant)
    db.commands.length = 0
    await expect(
      actOnGrant(db.store, clockAt(at(5)), grant.id, { type: 'approve' }, alice),
    ).rejects.toMatchObject({
      code: 'SELF_APPROVAL',
    })
    await expect(
      actOnGrant(db.store, clockAt(at(5)), 'g-zzzzzzzzzz', { type: 'approve' }, bob),
    ).rejects.toThrow('There is no grant g-zzzzzzzzzz.')
    expect(db.commands.filter((command) => command !== 'GetItem')).toEqual([])
  })
})

describe('access patterns', () => {
  // A fresh table per block keeps the listings exact.
  let listings: EmbeddedDynamo
  beforeAll(async () => {
    listings = await startEmbeddedDynamo('keyless-listings')
  })
  afterAll(async () => {
    await listings?.close()
  })

  it('lists, by requester newest first, by target and principal only while active, and by due time', async () => {
    const { store } = listings
    const older = pendingGrant(config, {}, T0)
    const newer = pendingGrant(config, { target: 'dev-web' }, at(100))
    const active = activeGrant(config)
    const ended = advance(activeGrant(config, { durationSeconds: 600 }), [
      [{ type: 'end' }, workflow, at(60 + 600)],
    ])
    const soon = activeGrant(config, { durationSeconds: 300 })
    for (const grant of [older, newer, active, ended, soon]) await store.create(grant)

    const byRequester = await store.listByRequester('U0ALICE')
    expect(byRequester.map((grant) => grant.id)).toEqual(
      [newer, older, active, ended, soon]
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt) || b.id.localeCompare(a.id))
        .map((grant) => grant.id),
    )
    expect(byRequester[0]?.id).toBe(newer.id)
    expect(await store.listByRequester('U0ALICE', { limit: 2 })).toHaveLength(2)
    expect(await store.listByRequester('U0NOBODY')).toEqual([])

    const ids = (grants: Grant[]) => grants.map((grant) => grant.id)
    // By activation, ended grants included (an access is judged by the grant of its time).
    const alice = 'arn:aws:iam::111122223333:role/alice-ops'
    expect(ids(await store.listActivatedByPrincipal(alice, at(0), at(60)))).toEqual(
      [active, ended, soon].map((grant) => grant.id).sort(),
    )
    expect(await store.listActivatedByPrincipal(alice, at(61), at(6000))).toEqual([])
    expect(await store.listActivatedByPrincipal(alice, at(0), at(59))).toEqual([])
    expect(await store.listActivatedByPrincipal('arn:aws:iam::111122223333:role/bob', at(0), at(60))).toEqual(
      [],
    )

    // Soonest due first: soon expires at T0+60+300, active at T0+60+1800.
    expect(ids(await store.listInStatus('ACTIVE'))).toEqual([soon.id, active.id])
    expect(ids(await store.listInStatus('PENDING'))).toEqual([older.id])
  })

  it('moves a grant between indexes as its status changes', async () => {
    const { store } = listings
    const approved = advance(pendingGrant(config, { target: 'dev-web' }), [])
    await store.create(approved)
    const inStatus = async (status: 'APPROVED' | 'ACTIVE') =>
      (await store.listInStatus(status)).map((grant) => grant.id)
    expect(await inStatus('ACTIVE')).not.toContain(approved.id)
    expect(await inStatus('APPROVED')).toContain(approved.id)

    const active = await store.transition(approved, decide(approved, { type: 'activate' }, workflow, at(5)))
    expect(await inStatus('ACTIVE')).toContain(active.id)
    expect(await inStatus('APPROVED')).not.toContain(approved.id)

    const revoking = await store.transition(
      active,
      decide(active, { type: 'request-revocation' }, alice, at(6)),
    )
    const revoked = await store.transition(revoking, decide(revoking, { type: 'end' }, workflow, at(7)))
    expect(revoked.status).toBe('REVOKED')
    expect(await inStatus('ACTIVE')).not.toContain(revoked.id)
    expect(await store.get(revoked.id)).toEqual(revoked)
  })
})

describe('sessions under a grant', () => {
  const session = (at: string, instance = 'i-0123456789abcdef0') => ({
    at,
    eventName: 'StartSession',
    principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
    instances: [instance],
    sourceIPAddress: '203.0.113.7',
    mfa: true,
    rules: [],
  })

  it('keeps each CloudTrail event once, however often it is recorded or raced', async () => {
    const { store } = db
    const grant = activeGrant(config)
    await store.create(grant)
    const events = ['e-1', 'e-2', 'e-3', 'e-4']
    // Concurrent first sessions: one creates the map, the others add to it.
    const recorded = await Promise.all(
      events.map((id, n) => store.recordSession(grant.id, id, session(at(n).toISOString()))),
    )
    expect(recorded).toEqual([true, true, true, true])
    expect(await store.recordSession(grant.id, 'e-2', session(at(1).toISOString()))).toBe(true)
    const stored = await store.get(grant.id)
    expect(Object.keys(stored?.sessions ?? {}).sort()).toEqual(events)
    expect(stored?.sessions?.['e-2']).toEqual(session(at(1).toISOString()))
    // Not a transition: the grant's decisions are untouched.
    expect(stored?.version).toBe(grant.version)
    expect(stored?.history).toEqual(grant.history)
  })

  it('records nothing on a grant that does not exist', async () => {
    expect(await db.store.recordSession('g-0000000000', 'e-1', session(at(0).toISOString()))).toBe(false)
    expect(await db.store.get('g-0000000000')).toBeUndefined()
  })
})
