import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { Grant } from '../../shared/core/grants/grant.ts'
import { decide } from '../../shared/core/grants/lifecycle.ts'
import { askForApproval, attachAccess, type TaskDeps, waitForEnd } from '../../shared/core/grants/tasks.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { advance, alice, bob, manager1, pendingGrant, workflow } from '../kit/grants.ts'
import { RecordingNotifier } from '../kit/notifier.ts'
import { INSTANCES, workflowConfig } from '../kit/plane.ts'

/**
 * The races between a task storing its token and a person changing the grant: whichever comes
 * first, the wait ends the way the grant says.
 */

const config = workflowConfig()
let db: EmbeddedDynamo
const signals: unknown[] = []
let deps: TaskDeps

beforeAll(async () => {
  db = await startEmbeddedDynamo('task-races')
  deps = {
    config,
    store: db.store,
    backend: new LocalAccessBackend(INSTANCES),
    notifier: new RecordingNotifier(),
    clock: systemClock,
    warn: () => {},
    workflow: {
      resume: async (taskToken, output) => {
        signals.push({ taskToken, ...output })
      },
      reject: async (taskToken, error, cause) => {
        signals.push({ taskToken, error, cause })
      },
    },
  }
})
afterAll(async () => {
  await db?.close()
})

const now = () => new Date()
async function stored(grant: Grant): Promise<Grant> {
  await db.store.create(grant)
  return grant
}
async function activated(): Promise<Grant> {
  const grant = await stored(pendingGrant(config, { breakGlass: true }, now()))
  await attachAccess(deps, { grantId: grant.id })
  return (await db.store.get(grant.id)) as Grant
}

describe('workflow tasks against concurrent changes', () => {
  it('ends the approval wait at once for a request cancelled before its token was stored', async () => {
    signals.length = 0
    const grant = await stored(advance(pendingGrant(config, {}, now()), [[{ type: 'cancel' }, alice, now()]]))
    await askForApproval(deps, { grantId: grant.id, taskToken: 't-cancelled' })
    expect(signals).toEqual([
      { taskToken: 't-cancelled', error: 'RequestClosed', cause: `${grant.id} is CANCELLED` },
    ])
  })

  it('resumes the approval wait at once for a request approved before its token was stored', async () => {
    signals.length = 0
    const grant = await stored(advance(pendingGrant(config, {}, now()), [[{ type: 'approve' }, bob, now()]]))
    await askForApproval(deps, { grantId: grant.id, taskToken: 't-approved' })
    expect(signals).toEqual([{ taskToken: 't-approved', grantId: grant.id }])
  })

  it('ends the expiry wait at once when the revocation came first', async () => {
    signals.length = 0
    const active = await activated()
    await db.store.transition(active, decide(active, { type: 'request-revocation' }, alice, now()))
    await waitForEnd(deps, { grantId: active.id, taskToken: 't-revoked', expiresAt: active.expiresAt })
    expect(signals).toEqual([{ taskToken: 't-revoked', grantId: active.id, event: 'revoke' }])
    expect((await db.store.get(active.id))?.taskToken).toBeUndefined()
  })

  it('wakes the expiry wait to re-attach when an extension was approved first', async () => {
    signals.length = 0
    const active = await activated()
    const asked = await db.store.transition(
      active,
      decide(active, { type: 'request-extension', durationSeconds: 600 }, alice, now()),
    )
    await db.store.transition(asked, decide(asked, { type: 'approve-extension' }, manager1, now()))
    await waitForEnd(deps, { grantId: active.id, taskToken: 't-extended', expiresAt: active.expiresAt })
    expect(signals).toEqual([{ taskToken: 't-extended', grantId: active.id, event: 'extend' }])
  })

  it('stores the token when nothing happened, so a later revoke can send it back', async () => {
    signals.length = 0
    const active = await activated()
    await waitForEnd(deps, { grantId: active.id, taskToken: 't-waiting', expiresAt: active.expiresAt })
    expect(signals).toEqual([])
    const waiting = await db.store.get(active.id)
    expect(waiting?.taskToken).toBe('t-waiting')
    expect(waiting?.version).toBe(active.version + 1)
    // A revocation decided on the read before the token was stored loses the race and retries.
    await expect(
      db.store.transition(active, decide(active, { type: 'request-revocation' }, alice, now())),
    ).rejects.toMatchObject({ code: 'CONFLICT' })
  })

  it('refuses to store a token on a grant whose revocation was recorded meanwhile', async () => {
    const active = await activated()
    const revoking = await db.store.transition(
      active,
      decide(active, { type: 'request-revocation' }, workflow, now()),
    )
    await expect(db.store.saveTaskToken({ ...revoking }, 'late')).rejects.toMatchObject({ code: 'CONFLICT' })
  })
})
