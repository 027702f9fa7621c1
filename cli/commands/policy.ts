import { parseDuration } from '../../shared/core/config/duration.ts'
import { findTarget } from '../../shared/core/config/lookup.ts'
import type { KeylessConfig, PersonConfig, TargetConfig } from '../../shared/core/config/schema.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { type GrantPolicy, grantPolicyFor } from '../../shared/core/policy/grant-policy.ts'
import { type Placement, placeGrant } from '../../shared/core/policy/placement.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'

export interface PolicyOptions {
  principal?: string
  /** A person from the config: where their grant would go, and (for a grant role) its trust. */
  person?: string
  json?: boolean
  duration: string
  now?: string
  config?: string
  explain?: boolean
}

/**
 * `keyless policy <target>[,<target>…]`: prints the exact policy document a grant would attach
 * (one per account the targets are in), or explains it.
 */
export async function policyCommand(target: string, options: PolicyOptions, io: CliIo): Promise<void> {
  const duration = parseDuration(options.duration)
  if (!duration.ok) throw new KeylessError('INVALID_DURATION', `--duration: ${duration.message}`)
  const activatedAt = options.now === undefined ? new Date() : parseInstant(options.now)
  if ((options.principal === undefined) === (options.person === undefined)) {
    throw new KeylessError(
      'INVALID_ARGUMENTS',
      'give --principal <arn> (an IAM role or user) or --person <Slack user id> (from the config), one of the two',
    )
  }
  const { config } = await commandConfig(options.config, io)
  // Several targets (`prod-db,dev-web`) make one request: one policy per account they are in.
  const names = [...new Set(target.split(','))]
  if (names.includes('')) {
    throw new KeylessError(
      'INVALID_ARGUMENTS',
      `"${target}" has an empty target name: name several targets with commas and no spaces (prod-db,dev-web)`,
    )
  }
  const targets = names.map((name) => findTarget(config, name))
  const placements = options.person
    ? placementsOf(config, findPerson(config, options.person), targets)
    : undefined
  const policies = (placements ?? [{ placement: undefined, targets: names }]).map(
    ({ placement, targets: here }) => ({
      placement,
      grant: grantPolicyFor(config, {
        target: here[0] ?? target,
        targets: here,
        principal: placement?.principal ?? options.principal ?? '',
        durationSeconds: duration.seconds,
        activatedAt,
      }),
    }),
  )
  if (options.json) {
    const shown = policies.map(({ placement, grant }) => ({
      account: (placement?.account ?? (targets[0] as TargetConfig).account).id,
      principal: grant.principal.arn,
      policy: grant.policy,
      ...(placement?.grantRole ? { trust: placement.grantRole.trust } : {}),
    }))
    io.out(`${JSON.stringify(shown.length === 1 ? shown[0] : { placements: shown }, null, 2)}\n`)
    return
  }
  for (const { placement, grant } of policies) {
    if (placement?.grantRole) {
      io.err(
        `keyless: on ${placement.principal} in account ${placement.account.name} (${placement.account.id}), created on first use, bounded by ${placement.grantRole.boundary}; --json shows its trust\n`,
      )
    } else if (policies.length > 1) {
      io.err(`keyless: on ${grant.principal.arn}\n`)
    }
    io.out(options.explain ? explanation(grant) : `${JSON.stringify(grant.policy, null, 2)}\n`)
  }
}

/** Where a person's grant over `targets` goes: per account, the placement and its targets. */
function placementsOf(config: KeylessConfig, person: PersonConfig, targets: TargetConfig[]) {
  const byAccount = new Map<string, { placement: Placement; targets: string[] }>()
  for (const target of targets) {
    const placement = placeGrant(config, person, target)
    const entry = byAccount.get(placement.account.id)
    if (entry) entry.targets.push(target.name)
    else byAccount.set(placement.account.id, { placement, targets: [target.name] })
  }
  return [...byAccount.values()]
}

function findPerson(config: KeylessConfig, slackUserId: string): PersonConfig {
  const person = config.people.get(slackUserId)
  if (!person) {
    throw new KeylessError(
      'UNKNOWN_PERSON',
      `--person ${slackUserId} is not in the config's people (${[...config.people.keys()].join(', ') || 'none'})`,
    )
  }
  return person
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
