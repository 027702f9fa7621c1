import { describe, expect, it } from 'vitest'
import { reportLines, soak } from './harness.ts'

// The short soak: the same harness as `npm run soak`, a few dozen lifecycles instead of a
// thousand, every fault still on, the plane killed and resumed more than once.
describe('the soak, short', () => {
  it('under faults everywhere: no access left, no session open, no duplicate, no lost history, no silent REVOKE_FAILED', async () => {
    const report = await soak({
      grants: 12,
      rampMs: 300,
      durationSeconds: [1, 1],
      backendFaultRate: 0.2,
      crashRate: 0.06,
      notifyFaultRate: 0.1,
      signalLossRate: 0.1,
      restartEveryMs: 1500,
      reconcileEveryMs: 400,
      approvalTimeout: '1s',
      graceSeconds: 1,
      seed: 42,
    })
    const figures = reportLines(report).join('\n')
    expect(report, figures).toMatchObject({
      requested: 12,
      created: 12,
      stillLive: 0,
      accessLeftAfterExpiry: 0,
      sessionsLeftOpen: 0,
      duplicateGrants: 0,
      historyEntriesLost: 0,
      revokeFailedWithoutAlert: 0,
    })
    // Not a calm day: IAM/SSM failed, task code crashed, the plane restarted, and grants still ended.
    expect(report.faults.backend, figures).toBeGreaterThan(0)
    expect(report.faults.crashes, figures).toBeGreaterThan(0)
    expect(report.restarts, figures).toBeGreaterThan(0)
    expect(report.expired + report.revoked, figures).toBeGreaterThan(0)
  })
})
