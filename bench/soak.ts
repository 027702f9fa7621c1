import { parseArgs } from 'node:util'
import { reportLines, soak } from '../test/soak/harness.ts'

/**
 * `npm run soak [-- --grants N] [--seed S]`: a thousand grant lifecycles at once through the
 * real state machine and store, with faults everywhere (see test/soak/harness.ts); prints what
 * happened, one figure per line, last. Exits 1 if any target is missed.
 */
const { values } = parseArgs({
  options: { grants: { type: 'string', default: '1000' }, seed: { type: 'string', default: '20261123' } },
})
const grants = Number(values.grants)
const report = await soak({
  grants,
  rampMs: Math.max(1000, grants * 20),
  durationSeconds: [2, 6],
  backendFaultRate: 0.2,
  crashRate: 0.04,
  notifyFaultRate: 0.1,
  signalLossRate: 0.1,
  restartEveryMs: 4000,
  reconcileEveryMs: 1000,
  approvalTimeout: '20s',
  graceSeconds: 2,
  seed: Number(values.seed),
  log: (line) => console.log(line),
})
for (const line of reportLines(report)) console.log(line)
const missed =
  report.accessLeftAfterExpiry +
  report.sessionsLeftOpen +
  report.duplicateGrants +
  report.historyEntriesLost +
  report.revokeFailedWithoutAlert +
  report.stillLive
process.exit(missed === 0 ? 0 : 1)
