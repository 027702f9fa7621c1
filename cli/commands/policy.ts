import { parseDuration } from '../../shared/config/duration.ts'
import { configPath, loadConfigFile } from '../../shared/config/load.ts'
import { KeylessError } from '../../shared/errors.ts'
import { grantPolicyFor } from '../../shared/policy/grant-policy.ts'
import type { CliIo } from '../io.ts'

export interface PolicyOptions {
  principal: string
  duration: string
  now?: string
  config?: string
}

/** `keyless policy <target>`: prints the exact policy document a grant would attach. */
export async function policyCommand(target: string, options: PolicyOptions, io: CliIo): Promise<void> {
  const duration = parseDuration(options.duration)
  if (!duration.ok) throw new KeylessError('INVALID_DURATION', `--duration: ${duration.message}`)
  const activatedAt = options.now === undefined ? new Date() : parseInstant(options.now)
  const config = await loadConfigFile(configPath(options.config, io.env))
  const { policy } = grantPolicyFor(config, {
    target,
    principal: options.principal,
    durationSeconds: duration.seconds,
    activatedAt,
  })
  io.out(`${JSON.stringify(policy, null, 2)}\n`)
}

function parseInstant(text: string): Date {
  // Only full ISO 8601 instants with a zone: "2026-11-23" alone would silently mean midnight UTC.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/
  const date = new Date(text)
  if (!iso.test(text) || Number.isNaN(date.getTime())) {
    throw new KeylessError(
      'INVALID_TIME',
      `--now: "${text}" is not an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z`,
    )
  }
  return date
}
