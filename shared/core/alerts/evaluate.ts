import { addSeconds } from '../clock.ts'
import type { KeylessConfig, TargetConfig } from '../config/schema.ts'
import { type Grant, grantPlacements, grantTargets } from '../grants/grant.ts'
import type { GrantStore } from '../grants/store.ts'
import { placedGrantRoles } from '../policy/placement.ts'
import type { InstanceInventory } from './inventory.ts'
import { type KeylessPieces, keylessPieces } from './keyless-pieces.ts'
import { otherWayFinding, type Reach } from './other-ways.ts'
import type { AccessEvent } from './record.ts'
import { type AlertPolicy, alertPolicy, type Finding, statelessFindings } from './rules.ts'

/**
 * The whole verdict on one watched event: the stateless rules; for an access, the two that need
 * to know what keyless granted — NO_ACTIVE_GRANT (an access to an instance of a configured target
 * that no grant of that principal covered at the time CloudTrail recorded it) and BREAK_GLASS (an
 * access a break-glass grant covered: each one is for review); and the rule of every other way
 * onto an instance or around the alerts (other-ways.ts).
 */

export interface Verdict {
  eventId: string
  eventName: string
  eventTime: string
  account: string | null
  region: string | null
  /** Who acted, as CloudTrail names them (an assumed-role session, a user, root). */
  principal: string | null
  /** The configured principal (role or user) the access was made as, when keyless knows it. */
  configuredPrincipal: string | null
  /** The people (Slack user ids) the config gives that principal to. */
  people: string[]
  /** The target of the instances accessed; null for an instance of no target. */
  target: string | null
  instances: string[]
  /** What else the call named: a tunnel's address, a command's tags, the piece of keyless changed. */
  subject: string | null
  sourceIPAddress: string | null
  mfa: boolean
  /** AWS's error code when it refused the call. */
  denied: string | null
  /** The grant that covered the access. */
  grantId: string | null
  findings: Finding[]
}

/** What the rules that know about grants need: the config, the inventory and the grants. */
export interface EvaluationContext {
  config: KeylessConfig
  policy: AlertPolicy
  /** The configured principals by their ARN in lower case, each with the people it belongs to. */
  principals: ReadonlyMap<string, { principal: string; people: string[] }>
  /** The tag naming an instance's target (defaults.tagKey: one for every target); undefined with no targets. */
  tagKey: string | undefined
  /** The longest any grant can last (the largest target maximum): how far back a covering grant can start. */
  longestGrantSeconds: number
  inventory: InstanceInventory
  grants: Pick<GrantStore, 'listActivatedByPrincipal' | 'listRequestedBy'>
  pieces: KeylessPieces
}

/**
 * How long before its recorded activation a grant already covers an access: the policy is
 * attached before the activation is written, and CloudTrail's clock is not the function's.
 */
export const ACTIVATION_TOLERANCE_SECONDS = 60

/** The context for `config`, with its alert settings compiled once. */
export function evaluationContext(
  config: KeylessConfig,
  inventory: InstanceInventory,
  grants: EvaluationContext['grants'],
): EvaluationContext {
  const principals = new Map<string, { principal: string; people: string[] }>()
  // IAM names are unique without regard to case, so the config's spelling is matched that
  // way; grants are stored under the config's own spelling.
  const targets = [...config.targets.values()]
  const know = (principal: string, slackUserId: string) => {
    const key = principal.toLowerCase()
    const known = principals.get(key) ?? { principal, people: [] as string[] }
    if (!known.people.includes(slackUserId)) known.people.push(slackUserId)
    principals.set(key, known)
  }
  for (const person of config.people.values()) {
    if (person.principal !== undefined) know(person.principal, person.slackUserId)
  }
  // A session of a grant role is its person's, under a grant on that role.
  for (const role of placedGrantRoles(config)) know(role.roleArn, role.slackUserId)
  return {
    config,
    policy: alertPolicy(config),
    principals,
    tagKey: targets[0]?.tagKey,
    longestGrantSeconds: Math.max(0, ...targets.map((target) => target.maxDurationSeconds)),
    inventory,
    grants,
    pieces: keylessPieces(config),
  }
}

export async function evaluate(event: AccessEvent, context: EvaluationContext): Promise<Verdict> {
  const findings = statelessFindings(event, context.policy)
  const known = context.principals.get(actingPrincipal(event)?.toLowerCase() ?? '')
  const configuredPrincipal = known?.principal ?? null
  const people = known?.people ?? identityCenterPeople(event, context.config)
  const reach = await reachOf(event, context)
  const { targets } = reach
  let grant: Grant | undefined
  if (event.kind === 'session' && targets.length > 0 && !event.denied) {
    grant = configuredPrincipal
      ? await coveringGrant(event, configuredPrincipal, people, targets, context)
      : undefined
    if (!grant) findings.push(noActiveGrant(event, targets, configuredPrincipal, people))
    else if (grant.breakGlass) findings.push(breakGlass(event, grant))
  }
  const otherWay = otherWayFinding(event, reach, context.pieces)
  if (otherWay) findings.push(otherWay)
  return {
    eventId: event.eventId,
    eventName: event.eventName,
    eventTime: event.eventTime,
    account: event.account,
    region: event.region,
    principal: event.identity.arn,
    configuredPrincipal,
    people,
    target: targets[0]?.name ?? null,
    instances: event.instances,
    subject: event.subject,
    sourceIPAddress: event.sourceIPAddress,
    mfa: event.identity.mfaAuthenticated,
    denied: event.denied?.code ?? null,
    grantId: grant?.id ?? null,
    findings,
  }
}

/**
 * The people an Identity Center session belongs to, by its session name (the user name, which
 * STS puts after the role in `assumed-role/AWSReservedSSO_<set>_<suffix>/<user>`): grants never
 * attach to such a role, but an access through it is still someone's to answer for.
 */
function identityCenterPeople(event: AccessEvent, config: KeylessConfig): string[] {
  const { type, arn, issuer } = event.identity
  if (type !== 'AssumedRole' || !issuer?.includes(':role/aws-reserved/sso.amazonaws.com/')) return []
  const user = arn?.split('/').at(-1)?.toLowerCase()
  return [...config.people.values()]
    .filter((person) => person.identityCenterUser?.toLowerCase() === user)
    .map((person) => person.slackUserId)
}

/** The principal a grant would have been attached to: the role of an assumed-role session, or the user. */
function actingPrincipal(event: AccessEvent): string | null {
  const { type, arn, issuer } = event.identity
  return type === 'AssumedRole' ? issuer : type === 'IAMUser' ? arn : null
}

/**
 * The configured targets an event reached, in the account it happened in (the home account or a
 * configured member account: an unconfigured account's tags are not keyless's to read, and none
 * of its instances is a target): by its addressing (reachByAddress), and the instances it names
 * by their tag — EC2 instances only, as grant policies name `instance/*`.
 */
async function reachOf(event: AccessEvent, context: EvaluationContext): Promise<Reach> {
  const { config, tagKey } = context
  const byAddress = reachByAddress(event, config)
  const account = event.account ?? config.account
  const instances = event.instances.filter((id) => id.startsWith('i-'))
  if (instances.length === 0 || tagKey === undefined) return byAddress
  const inAccount = targetsIn(config, account)
  if (inAccount.length === 0) return byAddress
  const values = new Set(
    (await context.inventory.tagValues(account, event.region ?? config.region, tagKey, instances)).values(),
  )
  const tagged = inAccount.filter((target) => values.has(target.tagValue))
  return { ...byAddress, targets: [...new Set([...byAddress.targets, ...tagged])] }
}

/**
 * What a command's addressing alone says it reached, needing no instance's tags: the targets
 * whose tag value it named under the targets' tag key; `unknown` when it was addressed any other
 * way (another tag, a resource group), so it could have reached any instance.
 */
export function reachByAddress(event: AccessEvent, config: KeylessConfig): Reach {
  const inAccount = targetsIn(config, event.account ?? config.account)
  const tagKey = `tag:${config.targets.values().next().value?.tagKey}`
  const values = new Set(event.addressedTo.flatMap(({ key, values }) => (key === tagKey ? values : [])))
  return {
    targets: inAccount.filter((target) => values.has(target.tagValue)),
    unknown: event.addressedTo.some(({ key }) => key !== tagKey),
  }
}

const targetsIn = (config: KeylessConfig, account: string): TargetConfig[] =>
  [...config.targets.values()].filter((target) => target.account.id === account)

/**
 * The grant of `principal` on one of `targets` that allowed this access at its time: found by
 * the principal it was activated on; a grant over several accounts is indexed by its first
 * principal only, so for the others it is found by its requester (the principal's people) and
 * the time it was asked for.
 */
async function coveringGrant(
  event: AccessEvent,
  principal: string,
  people: string[],
  targets: TargetConfig[],
  context: EvaluationContext,
): Promise<Grant | undefined> {
  const at = new Date(event.eventTime)
  const covering = (candidates: Grant[]) =>
    candidates.find((grant) => {
      const placement = grantPlacements(grant).find((candidate) => candidate.principal === principal)
      const target = targets.find((candidate) => placement?.targets.includes(candidate.name))
      return target !== undefined && allows(target, event.eventName) && covers(grant, at)
    })
  const found = covering(
    await context.grants.listActivatedByPrincipal(
      principal,
      addSeconds(at, -context.longestGrantSeconds),
      addSeconds(at, ACTIVATION_TOLERANCE_SECONDS),
    ),
  )
  if (found) return found
  for (const person of people) {
    const asked = await context.grants.listRequestedBy(
      person,
      addSeconds(at, -context.longestGrantSeconds - context.config.approvalTimeoutSeconds),
      addSeconds(at, ACTIVATION_TOLERANCE_SECONDS),
    )
    const other = covering(asked.filter((grant) => grant.placements !== undefined))
    if (other) return other
  }
  return undefined
}

/** What a grant on `target` lets its holder do (the grant policy's actions, per access kind). */
function allows(target: TargetConfig, eventName: string): boolean {
  if (eventName === 'SendSSHPublicKey') return target.access.includes('ssh')
  // Serial console access is never granted; a grant does not cover it.
  if (eventName === 'SendSerialConsoleSSHPublicKey') return false
  return true
}

/** Whether the grant's policy was in force at `at`: from activation until expiry, or until revoked. */
function covers(grant: Grant, at: Date): boolean {
  if (!grant.activatedAt || !grant.expiresAt) return false
  const from = addSeconds(grant.activatedAt, -ACTIVATION_TOLERANCE_SECONDS).getTime()
  const until = grant.status === 'REVOKED' && grant.endedAt ? grant.endedAt : grant.expiresAt
  // The policy's own condition is DateLessThan expiry: the expiry instant is already outside.
  return from <= at.getTime() && at.getTime() < Math.min(Date.parse(until), Date.parse(grant.expiresAt))
}

function noActiveGrant(
  event: AccessEvent,
  targets: TargetConfig[],
  principal: string | null,
  people: string[],
): Finding {
  const names = targets.map((target) => target.name).join(', ')
  const who = principal
    ? `${event.identity.arn ?? principal} (${people.join(', ')})`
    : `${event.identity.arn ?? 'an unknown principal'}, a principal keyless does not know,`
  return {
    rule: 'NO_ACTIVE_GRANT',
    severity: 'critical',
    detail: `${event.eventName} by ${who} on ${event.instances.join(', ')} (${names}) with no grant covering ${event.eventTime}`,
    action:
      'Something other than keyless gives this principal access: find the policy that allowed it (IAM Access Analyzer, the principal’s policies), remove it, and ask who connected.',
  }
}

function breakGlass(event: AccessEvent, grant: Grant): Finding {
  return {
    rule: 'BREAK_GLASS',
    severity: 'high',
    detail: `${event.eventName} by ${event.identity.arn ?? grant.principal} on ${event.instances.join(', ')} (${grantTargets(grant).join(', ')}) under break-glass grant ${grant.id}`,
    action: `Review the break-glass grant ${grant.id} with its requester: the incident, and what was done in this session.`,
  }
}
