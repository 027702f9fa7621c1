import { isIP } from 'node:net'
import { z } from 'zod'
import {
  ACCOUNT_ID_PATTERN,
  type Partition,
  PRINCIPAL_ARN_EXAMPLE,
  parsePrincipalArn,
  partitionOf,
  unmodifiableReason,
} from '../aws/arn.ts'
import { REGIONS } from '../aws/regions.ts'
import { closest } from './did-you-mean.ts'
import { parseDuration } from './duration.ts'

/**
 * The schema of `keyless.config.yaml` (docs/contract.md "The config file"). Every object is strict: a typo
 * in a key must never silently widen or narrow access. The parsed result is the resolved
 * configuration, with defaults applied and durations in seconds.
 */

export const ACCESS_KINDS = ['shell', 'port-forward', 'ssh'] as const
export type AccessKind = (typeof ACCESS_KINDS)[number]

/**
 * Target names appear in Slack commands, IAM policy documents and SSM document names
 * (`keyless-<target>-port-<port>`), so they keep to a charset all three accept literally.
 */
export const TARGET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/
/**
 * Tag keys and values land in IAM condition keys and values. The charset is the ASCII part of
 * EC2's own, without `*` and `?` (wildcards in a `Like` operator) and without `$` (IAM policy
 * variables): a tag value is always compared literally.
 */
const TAG_KEY_PATTERN = /^(?!aws:)[A-Za-z0-9_.:/=+@-]{1,128}$/
const TAG_VALUE_PATTERN = /^[A-Za-z0-9 _.:/=+@-]{1,256}$/
export const SLACK_USER_PATTERN = /^[UW][A-Z0-9]{2,20}$/
/** A Slack user group (`S…`): as an approver, its members at the time of each request. */
export const SLACK_USER_GROUP_PATTERN = /^S[A-Z0-9]{2,20}$/
export const isUserGroup = (id: string): boolean => SLACK_USER_GROUP_PATTERN.test(id)
const SLACK_CHANNEL_PATTERN = /^[CGD][A-Z0-9]{2,20}$/
const OS_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/
// An ARN pattern: IAM ARN characters plus `*`, the only wildcard docs/contract.md gives these patterns.
const ARN_PATTERN_PATTERN = /^arn:[a-z-]*:[a-z0-9*-]*:[a-z0-9*-]*:(?:\d{12}|\*)?:[\w+=,.@/*-]+$/

const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value

/** zod error map: "is required" for a missing value, otherwise what was expected and what came. */
const expected = (description: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? 'is required' : `expected ${description}, got ${show(issue.input)}`,
})

const matching = (pattern: RegExp, description: string, example: string) =>
  z.string(expected(description)).refine((value) => pattern.test(value), {
    error: (issue) => `${show(issue.input)} is not ${description}, e.g. ${example}`,
  })

const duration = z.string(expected('a duration such as 30m, 1h30m or 2d')).transform((text, ctx) => {
  const parsed = parseDuration(text)
  if (parsed.ok) return parsed.seconds
  ctx.addIssue({ code: 'custom', message: parsed.message })
  return z.NEVER
})

const uniqueList = <T extends z.ZodType>(item: T, description: string) =>
  z.array(item, expected(`a list of ${description}`)).superRefine((list, ctx) => {
    const seen = new Set<unknown>()
    list.forEach((value, index) => {
      if (seen.has(value)) {
        ctx.addIssue({ code: 'custom', path: [index], message: `${show(value)} is listed twice` })
      }
      seen.add(value)
    })
  })

const slackUser = matching(SLACK_USER_PATTERN, 'a Slack user id', 'U0123ABCD')
/** An approver: a person (`U…`), or a Slack user group (`S…`) whose members are read at request time. */
const approver = matching(
  new RegExp(`${SLACK_USER_PATTERN.source}|${SLACK_USER_GROUP_PATTERN.source}`),
  'a Slack user id or user group id',
  'U0123ABCD or S0123ABCD',
)
const slackChannel = matching(SLACK_CHANNEL_PATTERN, 'a Slack channel id', 'C0123ABCD')
const targetName = matching(
  TARGET_NAME_PATTERN,
  "a target name: letters, digits, '.', '_' or '-', at most 48 (no spaces, quotes, slashes, wildcards or unicode)",
  'prod-db',
)
const ALL_REGIONS = Object.values(REGIONS).flat()
const region = z.string(expected('an AWS region')).refine((value) => ALL_REGIONS.includes(value), {
  error: (issue) => {
    const hint = typeof issue.input === 'string' ? closest(issue.input, ALL_REGIONS) : undefined
    return `${show(issue.input)} is not an AWS region${hint ? ` (did you mean ${hint}?)` : ', e.g. eu-west-1'}`
  },
})

const cidr = z.string(expected('a CIDR block such as 203.0.113.0/24')).refine(isCidr, {
  error: (issue) => `${show(issue.input)} is not a CIDR block, e.g. 203.0.113.0/24 or 2001:db8::/32`,
})

function isCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/')
  if (address === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) {
    return false
  }
  const family = isIP(address)
  const bits = Number(prefix)
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128)
}

const targetFields = z.strictObject({
  description: z.string(expected('a text')).max(500).optional(),
  tagValue: matching(TAG_VALUE_PATTERN, 'a literal tag value (no * ? $ or unicode)', 'prod-db').optional(),
  access: uniqueList(z.enum(ACCESS_KINDS, expected(`one of ${ACCESS_KINDS.join(', ')}`)), 'access kinds').min(
    1,
    'must name at least one access kind: shell, port-forward or ssh',
  ),
  ports: uniqueList(
    z
      .int(expected('a port number'))
      .min(1, 'ports run from 1 to 65535')
      .max(65535, 'ports run from 1 to 65535'),
    'port numbers',
  ).optional(),
  osUser: matching(OS_USER_PATTERN, 'a Linux user name', 'ec2-user').optional(),
  maxDuration: duration.optional(),
  approvers: uniqueList(approver, 'Slack user or user group ids').optional(),
  approvals: z
    .int(expected('a whole number'))
    .min(1, 'at least 1 approval is needed')
    .max(5, 'at most 5 approvals')
    .optional(),
  autoApprove: z.boolean(expected('true or false')).optional(),
  /** A name from `accounts`; absent, the home account. */
  account: z.string(expected('an account name from accounts')).optional(),
})

// Checks across fields run even when a field is malformed, so one run reports every problem;
// each looks only at fields that are themselves well formed.
const always = { when: () => true }

const targetInput = targetFields.superRefine((target, ctx) => {
  if (!Array.isArray(target.access)) return
  const has = (kind: AccessKind) => target.access.includes(kind)
  if (has('port-forward') && !target.ports?.length) {
    ctx.addIssue({
      code: 'custom',
      path: ['ports'],
      message: 'is required with port-forward access, e.g. [5432]',
    })
  }
  if (!has('port-forward') && target.ports !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['ports'],
      message: 'is only allowed with port-forward access',
    })
  }
  if (has('ssh') && target.osUser === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['osUser'],
      message: 'is required with ssh access, e.g. ec2-user',
    })
  }
  if (!has('ssh') && target.osUser !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['osUser'], message: 'is only allowed with ssh access' })
  }
  // The requester's manager may approve too, so one more approval than listed approvers is reachable.
  // A user group's size is known only when a request is made: with one, the request checks.
  const reachable = (Array.isArray(target.approvers) ? target.approvers.length : 0) + 1
  const groups = Array.isArray(target.approvers) && target.approvers.some((id) => isUserGroup(String(id)))
  if (typeof target.approvals === 'number' && target.approvals > reachable && !groups) {
    ctx.addIssue({
      code: 'custom',
      path: ['approvals'],
      message: `needs ${target.approvals} distinct approvers but at most ${reachable} can approve (the approvers listed plus the requester's manager)`,
    })
  }
}, always)

const personInput = z.strictObject({
  principal: z
    .string(expected('an IAM role or user ARN'))
    .refine((arn) => parsePrincipalArn(arn) !== undefined, {
      error: (issue) => `${show(issue.input)} is not an IAM role or user ARN, e.g. ${PRINCIPAL_ARN_EXAMPLE}`,
    })
    .optional(),
  /** The person's IAM Identity Center user name (instead of a principal). */
  identityCenterUser: matching(
    /^[\w+=,.@-]{1,128}$/,
    'an IAM Identity Center user name',
    'alice@example.com',
  ).optional(),
  manager: slackUser.optional(),
})

const ACCOUNT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/
const accountInput = z.strictObject({
  id: matching(ACCOUNT_ID_PATTERN, 'a 12-digit AWS account id in quotes', '"444455556666"'),
  /** Default: the top-level regions. */
  regions: uniqueList(region, 'AWS regions').min(1, 'must name at least one region').optional(),
})

const rootInput = {
  account: matching(ACCOUNT_ID_PATTERN, 'a 12-digit AWS account id in quotes', '"111122223333"'),
  region,
  regions: uniqueList(region, 'AWS regions').min(1, 'must name at least one region').optional(),
  slack: z.strictObject(
    {
      securityChannel: slackChannel,
      approvalChannel: slackChannel.optional(),
      // Who runs keyless: named to people the config does not know yet, so they know whom to ask.
      admins: uniqueList(slackUser, 'Slack user ids').default([]),
    },
    expected('a mapping with securityChannel'),
  ),
  defaults: z
    .strictObject(
      {
        tagKey: matching(
          TAG_KEY_PATTERN,
          'a tag key (not starting with aws:, no * ? $)',
          'access-target',
        ).default('access-target'),
        maxDuration: duration.prefault('4h'),
        approvalTimeout: duration.prefault('30m'),
      },
      expected('a mapping'),
    )
    .prefault({}),
  alerts: z
    .strictObject(
      {
        requireMfa: z.boolean(expected('true or false')).default(true),
        trustedMfaSessionIssuers: uniqueList(
          matching(
            ARN_PATTERN_PATTERN,
            'an IAM ARN pattern',
            'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*',
          ),
          'role ARN patterns',
        ).default([]),
        allowedSourceCidrs: uniqueList(cidr, 'CIDR blocks').default([]),
      },
      expected('a mapping'),
    )
    .prefault({}),
  organization: z
    .strictObject(
      {
        id: matching(/^o-[a-z0-9]{10,32}$/, 'an AWS Organizations id', 'o-a1b2c3d4e5'),
        deployTo: uniqueList(
          matching(
            /^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/,
            'an organizational unit id',
            'ou-ab12-prodxxxx',
          ),
          'organizational unit ids',
        ).min(1, 'must name at least one organizational unit'),
      },
      expected('a mapping with id and deployTo'),
    )
    .optional(),
  accounts: z
    .record(
      matching(ACCOUNT_NAME_PATTERN, 'an account name: letters, digits, _ or -', 'prod'),
      accountInput,
      expected('a mapping of account names to {id, regions}'),
    )
    .optional(),
  identityCenter: z
    .strictObject(
      { permissionSet: matching(/^[\w+=,.@-]{1,32}$/, 'a permission set name', 'KeylessAccess') },
      expected('a mapping with permissionSet'),
    )
    .optional(),
  requests: z
    .strictObject(
      {
        // How many targets one request may name (`/access a,b 30m …`).
        maxTargets: z.number(expected('a whole number')).int().min(1).max(20).default(5),
      },
      expected('a mapping with maxTargets'),
    )
    .prefault({}),
  audit: z
    .strictObject(
      {
        // Standing access the team keeps on purpose: shown as `accepted`, never hidden.
        accepted: uniqueList(
          matching(
            ARN_PATTERN_PATTERN,
            'an IAM ARN pattern',
            'arn:aws:iam::111122223333:role/break-glass-admin',
          ),
          'principal ARN patterns',
        ).default([]),
        // When the scheduled audit runs: an EventBridge schedule expression.
        schedule: matching(
          /^(rate\((1 (minute|hour|day)|[1-9]\d* (minutes|hours|days))\)|cron\([^()]+\))$/,
          'an EventBridge schedule expression',
          'rate(7 days)',
        ).default('rate(7 days)'),
      },
      expected('a mapping with accepted and schedule'),
    )
    .prefault({}),
  targets: z.record(targetName, targetInput, expected('a mapping of target names to targets')),
  people: z.record(slackUser, personInput, expected('a mapping of Slack user ids to people')).default({}),
}
const configInput = z.strictObject(rootInput)

/** The keys allowed at a path, for "did you mean" hints on unknown keys. */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  const [first] = path
  if (path.length === 0) return Object.keys(rootInput)
  if (path.length === 1 && first === 'slack') return ['securityChannel', 'approvalChannel', 'admins']
  if (path.length === 1 && first === 'defaults') return ['tagKey', 'maxDuration', 'approvalTimeout']
  if (path.length === 1 && first === 'alerts')
    return ['requireMfa', 'trustedMfaSessionIssuers', 'allowedSourceCidrs']
  if (path.length === 2 && first === 'targets') return Object.keys(targetFields.shape)
  if (path.length === 2 && first === 'people') return Object.keys(personInput.shape)
  if (path.length === 1 && first === 'organization') return ['id', 'deployTo']
  if (path.length === 1 && first === 'identityCenter') return ['permissionSet']
  if (path.length === 1 && first === 'audit') return ['accepted', 'schedule']
  if (path.length === 1 && first === 'requests') return ['maxTargets']
  if (path.length === 2 && first === 'accounts') return Object.keys(accountInput.shape)
  return []
}

type ConfigInput = z.output<typeof configInput>

export interface TargetConfig {
  name: string
  description?: string
  tagKey: string
  tagValue: string
  access: AccessKind[]
  /** Empty unless access includes port-forward. */
  ports: number[]
  osUser?: string
  maxDurationSeconds: number
  approvers: string[]
  approvals: number
  autoApprove: boolean
  /** The account its instances live in: the home account unless the target names another. */
  account: AccountConfig
}

/** An account targets live in: the home account (name `home`), or one named under `accounts`. */
export interface AccountConfig {
  name: string
  id: string
  regions: string[]
}

/** A person: their own IAM principal, or their IAM Identity Center user (one of the two). */
export interface PersonConfig {
  slackUserId: string
  principal?: string
  identityCenterUser?: string
  manager?: string
}

export interface KeylessConfig {
  account: string
  region: string
  /** Regions whose instances grants cover; the home region when the file names none. */
  regions: string[]
  partition: Partition
  slack: { securityChannel: string; approvalChannel?: string; admins: string[] }
  approvalTimeoutSeconds: number
  alerts: { requireMfa: boolean; trustedMfaSessionIssuers: string[]; allowedSourceCidrs: string[] }
  /** The organization member accounts belong to, and the OUs keyless is deployed to there. */
  organization?: { id: string; deployTo: string[] }
  /** Member accounts by name; the home account is not among them. */
  accounts: ReadonlyMap<string, AccountConfig>
  identityCenter?: { permissionSet: string }
  /**
   * `keyless audit`: principal ARN patterns whose standing access is accepted (shown, not a
   * hole), and when the scheduled audit runs (an EventBridge schedule expression).
   */
  audit: { accepted: string[]; schedule: string }
  /** How many targets one request may name. */
  requests: { maxTargets: number }
  /** Maps, not records: a target called `constructor` must not find Object.prototype's. */
  targets: ReadonlyMap<string, TargetConfig>
  people: ReadonlyMap<string, PersonConfig>
}

export const keylessConfigSchema = configInput.superRefine(crossChecks, always).transform(resolve)

/** What no single field can say: accounts, partitions and approvals against the people. */
function crossChecks(config: ConfigInput, ctx: z.core.$RefinementCtx<ConfigInput>): void {
  const isMapping = (value: unknown): value is object =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
  const entries = <T>(value: unknown) => (isMapping(value) ? Object.entries(value) : []) as [string, T][]
  const targets = entries<Partial<ConfigInput['targets'][string]> | undefined>(config.targets)
  const people = entries<Partial<ConfigInput['people'][string]> | undefined>(config.people)
  if (isMapping(config.targets) && targets.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['targets'], message: 'must define at least one target' })
  }
  const account = ACCOUNT_ID_PATTERN.test(String(config.account)) ? config.account : undefined
  const home = ALL_REGIONS.includes(String(config.region)) ? config.region : undefined
  const partition = home ? partitionOf(home) : undefined
  for (const [id, person] of people) {
    const hasPrincipal = person?.principal !== undefined
    const hasUser = person?.identityCenterUser !== undefined
    if (hasPrincipal === hasUser) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', id],
        message: hasPrincipal
          ? 'has both a principal and an identityCenterUser: name one'
          : 'needs a principal (an IAM role or user ARN) or an identityCenterUser',
      })
    }
    if (hasUser && config.identityCenter === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', id, 'identityCenterUser'],
        message: 'needs identityCenter.permissionSet: the permission set people sign in with',
      })
    }
    const principal = typeof person?.principal === 'string' ? parsePrincipalArn(person.principal) : undefined
    if (!principal) continue
    if (account && principal.account !== account) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', id, 'principal'],
        message: `is in account ${principal.account}, but grants are attached in the configured account ${account}`,
      })
    }
    if (partition && principal.partition !== partition) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', id, 'principal'],
        message: `is in partition ${principal.partition}, but region ${home} is in ${partition}`,
      })
    }
    const unmodifiable = unmodifiableReason(principal)
    if (unmodifiable)
      ctx.addIssue({ code: 'custom', path: ['people', id, 'principal'], message: unmodifiable })
  }
  if (partition && Array.isArray(config.regions)) {
    config.regions.forEach((listed, index) => {
      if (ALL_REGIONS.includes(listed) && partitionOf(listed) !== partition) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', index],
          message: `${listed} is in partition ${partitionOf(listed)}, but region ${home} is in ${partition}`,
        })
      }
    })
  }
  // Accounts: named, under an organization, each id once, the home account as it is.
  const accounts = entries<Partial<z.output<typeof accountInput>> | undefined>(config.accounts)
  if (accounts.length > 0 && config.organization === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['accounts'],
      message:
        'needs organization (its id and the OUs keyless is deployed to): member accounts are reached through it',
    })
  }
  const named = new Map<string, string>()
  for (const [name, account] of accounts) {
    if (typeof account?.id !== 'string') continue
    const other = named.get(account.id)
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', name, 'id'],
        message: `is accounts.${other}'s id too`,
      })
    }
    named.set(account.id, name)
    const regions = account.regions
    if (account.id === config.account && Array.isArray(regions)) {
      const home = Array.isArray(config.regions) ? config.regions : [config.region]
      if (regions.join() !== home.join()) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', name, 'regions'],
          message: `is the home account, whose regions are the top-level ones (${home.join(', ')})`,
        })
      }
    }
  }
  for (const [name, target] of targets) {
    if (typeof target?.account !== 'string') continue
    if (!accounts.some(([known]) => known === target.account)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', name, 'account'],
        message: `${show(target.account)} is not in accounts${accounts.length > 0 ? ` (${accounts.map(([known]) => known).join(', ')})` : ''}`,
      })
    }
  }
  // Approvals no request could ever gather: for each person who may ask, the target's approvers
  // and their manager, never themselves. (Fewer than listed + 1 is the target's own check.)
  if (people.length === 0) return
  for (const [name, target] of targets) {
    const approvers = Array.isArray(target?.approvers) ? target.approvers : []
    const approvals = typeof target?.approvals === 'number' ? target.approvals : 1
    if (target?.autoApprove === true || approvals > approvers.length + 1) continue
    // A user group's members are known only when a request is made: the request checks then.
    if (approvers.some((id) => isUserGroup(String(id)))) continue
    const most = Math.max(
      ...people.map(([id, person]) => {
        const possible = new Set([
          ...approvers,
          ...(typeof person?.manager === 'string' ? [person.manager] : []),
        ])
        possible.delete(id)
        return possible.size
      }),
    )
    if (approvals > most) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', name, 'approvals'],
        message: `needs ${approvals} distinct approvers, but no request can gather more than ${most} (a request's approvers are the target's and the requester's manager, never the requester)`,
      })
    }
  }
}

/** The name the home account goes by where a target's account is shown. */
export const HOME_ACCOUNT_NAME = 'home'

function resolve(input: ConfigInput): KeylessConfig {
  const regions = input.regions ?? [input.region]
  const home: AccountConfig = { name: HOME_ACCOUNT_NAME, id: input.account, regions }
  const accounts = new Map<string, AccountConfig>()
  for (const [name, account] of Object.entries(input.accounts ?? {})) {
    accounts.set(name, { name, id: account.id, regions: account.regions ?? regions })
  }
  const targets = new Map<string, TargetConfig>()
  for (const [name, target] of Object.entries(input.targets)) {
    targets.set(name, {
      name,
      ...(target.description === undefined ? {} : { description: target.description }),
      tagKey: input.defaults.tagKey,
      tagValue: target.tagValue ?? name,
      access: target.access,
      ports: target.ports ?? [],
      ...(target.osUser === undefined ? {} : { osUser: target.osUser }),
      maxDurationSeconds: target.maxDuration ?? input.defaults.maxDuration,
      approvers: target.approvers ?? [],
      approvals: target.approvals ?? 1,
      autoApprove: target.autoApprove ?? false,
      // The cross-checks refused an account that is not in `accounts`.
      account: (target.account === undefined ? undefined : accounts.get(target.account)) ?? home,
    })
  }
  const people = new Map<string, PersonConfig>()
  for (const [slackUserId, person] of Object.entries(input.people)) {
    people.set(slackUserId, {
      slackUserId,
      ...(person.principal === undefined ? {} : { principal: person.principal }),
      ...(person.identityCenterUser === undefined ? {} : { identityCenterUser: person.identityCenterUser }),
      ...(person.manager === undefined ? {} : { manager: person.manager }),
    })
  }
  return {
    account: input.account,
    region: input.region,
    regions,
    partition: partitionOf(input.region),
    slack: input.slack,
    approvalTimeoutSeconds: input.defaults.approvalTimeout,
    alerts: input.alerts,
    audit: input.audit,
    requests: input.requests,
    ...(input.organization ? { organization: input.organization } : {}),
    accounts,
    ...(input.identityCenter ? { identityCenter: input.identityCenter } : {}),
    targets,
    people,
  }
}
