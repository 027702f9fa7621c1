import { describe, expect, it } from 'vitest'
import { secondsUntil, startPayload, wholeSecondsBefore } from '../../shared/core/workflow/workflow.ts'
import { specConfig } from '../kit/config.ts'
import { advance, at, manager1, pendingGrant, workflow } from '../kit/grants.ts'

const now = new Date('2026-11-23T10:00:00.300Z')

describe('wait lengths in whole seconds', () => {
  it('rounds the approval wait up, so a request never times out before its deadline', () => {
    expect(secondsUntil('2026-11-23T10:30:00Z', now)).toBe(1800)
    expect(secondsUntil('2026-11-23T10:00:01Z', now)).toBe(1)
    expect(secondsUntil('2026-11-23T09:00:00Z', now)).toBe(1)
  })

  it('rounds the expiry wait down, so revocation is never a second late', () => {
    expect(wholeSecondsBefore('2026-11-23T10:30:00Z', now)).toBe(1799)
    expect(wholeSecondsBefore('2026-11-23T10:00:02Z', now)).toBe(1)
    expect(wholeSecondsBefore('2026-11-23T09:00:00Z', now)).toBe(1)
  })
})

describe('where an execution starts: from where the grant stands', () => {
  const config = specConfig()
  const pending = pendingGrant(config, {}, new Date('2026-11-23T10:00:00Z')) // decide by 10:30
  const approved = advance(pending, [[{ type: 'approve' }, manager1, at(60)]])

  it('a request asks (a restart past halfway only waits until the deadline); an approved grant attaches', () => {
    expect(startPayload(pending, now)).toEqual({
      grantId: pending.id,
      stage: 'ask',
      asked: false,
      remind: true,
      timeoutSeconds: 900,
    })
    expect(startPayload(pending, new Date('2026-11-23T10:20:00Z'))).toMatchObject({
      stage: 'ask',
      remind: false,
      timeoutSeconds: 600,
    })
    expect(approved.status).toBe('APPROVED')
    expect(startPayload(approved, now)).toEqual({ grantId: pending.id, stage: 'attach', timeoutSeconds: 1 })
  })

  it('an active grant waits for its warning, or its expiry once the warning is past; a failed removal is retried', () => {
    const active = advance(approved, [[{ type: 'activate' }, workflow, new Date('2026-11-23T10:00:00Z')]])
    expect(active.expiresAt).toBe('2026-11-23T10:30:00Z')
    expect(startPayload(active, now, 300)).toEqual({
      grantId: active.id,
      stage: 'wait',
      expiresAt: '2026-11-23T10:30:00Z',
      warn: true,
      timeoutSeconds: 1499,
    })
    expect(startPayload(active, new Date('2026-11-23T10:27:00Z'), 300)).toMatchObject({
      stage: 'wait',
      warn: false,
      timeoutSeconds: 180,
    })
    const failed = advance(active, [[{ type: 'fail-revocation', reason: 'Throttling' }, workflow, at(1900)]])
    expect(startPayload(failed, now)).toEqual({ grantId: active.id, stage: 'revoke', timeoutSeconds: 1 })
  })

  it('an ended grant has no execution to start', () => {
    const denied = advance(pending, [[{ type: 'deny' }, manager1, at(60)]])
    expect(() => startPayload(denied, now)).toThrow(
      `${pending.id} is DENIED: an ended grant has no workflow to start`,
    )
  })
})
