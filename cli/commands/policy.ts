import { parseDuration } from '../../shared/core/config/duration.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { type GrantPolicy, grantPolicyFor } from '../../shared/core/policy/grant-policy.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'

export interface PolicyOptions {
  principal: string
  duration: string
  now?: string
  config?: string
  explain?: boolean
}

/** `keyless policy <target>`: prints the exact policy document a grant would attach, or explains it. */
export async function policyCommand(target: string, options: PolicyOptions, io: CliIo): Promise<void> {
  const duration = parseDuration(options.duration)
  if (!duration.ok) throw new KeylessError('INVALID_DURATION', `--duration: ${duration.message}`)
  const activatedAt = options.now === undefined ? new Date() : parseInstant(options.now)
  const { config } = await commandConfig(options.config, io)
  const grant = grantPolicyFor(config, {
    target,
    principal: options.principal,
    durationSeconds: duration.seconds,
    activatedAt,
  })
  io.out(options.explain ? explanation(grant) : `${JSON.stringify(grant.policy, null, 2)}\n`)
}

/**
 * The policy statement by statement, each under what it is for (the attached policy carries no
 * Sids), then its size against the principal's quota. For people: the JSON alone is the default.
 */
function explanation({ explained, expiresAt, size, quota, principal }: GrantPolicy): string {
  const statements = explained.map(
    ({ explanation, statement }, index) =>
      `Statement ${index + 1}: ${explanation}\n${JSON.stringify(statement, null, 2)}\n`,
  )
  const footer = [
    `Every statement ends at ${expiresAt} (aws:CurrentTime), even if removal fails.`,
    `Size: ${size} characters, without white space, of the ${quota} an IAM ${principal.kind}'s inline policies may total.`,
  ]
  return `${statements.join('\n')}\n${footer.join('\n')}\n`
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
