import { readFileSync } from 'node:fs'

/**
 * This process's own peak resident memory, in KB. On Linux that is VmHWM: `resourceUsage().maxRSS`
 * is carried across fork and exec, so a child started by a large parent (the bench, after it
 * bundled every function) reports at least the parent's size. Elsewhere, maxRSS is all there is.
 */
export function peakRssKb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (hwm?.[1]) return Number(hwm[1])
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS
}
