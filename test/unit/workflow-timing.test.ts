import { describe, expect, it } from 'vitest'
import { secondsUntil, wholeSecondsBefore } from '../../shared/workflow/workflow.ts'

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
