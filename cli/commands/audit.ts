import { readFile } from 'node:fs/promises'
import { localInstances } from '../../local/instances.ts'
import { dataDirOf } from '../../local/operator-api.ts'
import type {
  AuditChecked,
  AuditFinding,
  AuditTarget,
  PolicySimulator,
} from '../../shared/core/audit/audit.ts'
import { auditAccount } from '../../shared/core/audit/audit.ts'
import {
  type AccountAuthorization,
  authorizationDetailsSchema,
  readAuthorization,
} from '../../shared/core/audit/authorization.ts'
import { auditTargets } from '../../shared/core/audit/targets.ts'
import { formatPath } from '../../shared/core/config/load.ts'
import type { AccountConfig, KeylessConfig } from '../../shared/core/config/schema.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { placedGrantRoles } from '../../shared/core/policy/placement.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'

export interface AuditOptions {
  /** A saved `aws iam get-account-authorization-details`: judged by the local stand-in. */
  authorizationDetails?: string
  /** The configured account (name or id) to audit; default the home account. */
  account?: string
  json?: boolean
  config?: string
  region?: string
}

/**
 * `keyless audit` (docs/contract.md): who can reach a target's instances without a keyless grant,
 * in one account. With `--authorization-details FILE` the saved details are judged locally
 * against the instances `npm start` has (its data folder's `instances.json`, else one per target
 * and region); without it, the account's own IAM is read and asked, with the caller's
 * credentials. Exit 1 when any finding is `standing`.
 */
export async function auditCommand(options: AuditOptions, io: CliIo): Promise<void> {
  const { config } = await commandConfig(options.config, io)
  const account = accountOf(config, options.account)
  const source = options.authorizationDetails
    ? await savedAccount(options.authorizationDetails, config, account, io)
    : await liveAccount(config, account, options.region)
  const report = await auditAccount(
    {
      account: account.id,
      partition: config.partition,
      authorization: source.authorization,
      targets: source.targets,
      accepted: config.audit.accepted,
      grantRolePeople: new Set(
        placedGrantRoles(config)
          .filter((role) => role.account === account.id)
          .map((role) => role.slackUserId),
      ),
    },
    source.simulator,
  )
  if (report.checked.unknownPolicies.length > 0) {
    io.err(
      `keyless: ${report.checked.unknownPolicies.length} attached managed polic(ies) are not in the details and were not audited: ${report.checked.unknownPolicies.join(', ')}\n`,
    )
  }
  io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : auditText(report.findings, report.checked))
  for (const arn of report.orphanGrantRoles) {
    io.err(
      `keyless: ${arn} is the grant role of someone the config no longer places here: keyless will not write or clean it; delete it\n`,
    )
  }
  const holes = report.findings.filter((finding) => finding.kind === 'standing')
  if (holes.length > 0) {
    const principals = new Set(holes.map((finding) => finding.principal)).size
    throw new KeylessError(
      'STANDING_ACCESS',
      `${principals} principal(s) can reach a target's instances without a keyless grant`,
    )
  }
}

interface AuditSource {
  authorization: AccountAuthorization
  targets: AuditTarget[]
  simulator: PolicySimulator
}

function accountOf(config: KeylessConfig, named: string | undefined): AccountConfig {
  const home: AccountConfig = { name: 'home', id: config.account, regions: config.regions }
  if (named === undefined || named === 'home' || named === config.account) return home
  const member = [...config.accounts.values()].find(
    (account) => account.name === named || account.id === named,
  )
  if (!member) {
    const known = ['home', ...config.accounts.keys()].join(', ')
    throw new KeylessError('UNKNOWN_ACCOUNT', `--account ${named} is not a configured account (${known})`)
  }
  return member
}

async function savedAccount(
  file: string,
  config: KeylessConfig,
  account: AccountConfig,
  io: CliIo,
): Promise<AuditSource> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not JSON'
    throw new KeylessError(
      'INVALID_AUTHORIZATION_DETAILS',
      `${file} ${reason}: save it with aws iam get-account-authorization-details > ${file}`,
    )
  }
  const parsed = authorizationDetailsSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = issue?.path ?? []
    const value = path.reduce<unknown>(
      (at, key) => (at as Record<PropertyKey, unknown> | undefined)?.[key],
      json,
    )
    throw new KeylessError(
      'INVALID_AUTHORIZATION_DETAILS',
      `${file} is not the output of aws iam get-account-authorization-details: ${formatPath(path) || '(file)'} ${value === undefined ? 'is missing' : (issue?.message ?? 'is not valid')}`,
    )
  }
  const { LocalPolicySimulator } = await import('../../local/policy-simulator.ts')
  return {
    authorization: readAuthorization(parsed.data),
    targets: auditTargets(config, account.id, await localInstances(config, dataDirOf(io.env))),
    simulator: await LocalPolicySimulator.create(),
  }
}

async function liveAccount(
  config: KeylessConfig,
  account: AccountConfig,
  region: string | undefined,
): Promise<AuditSource> {
  if (account.id !== config.account) {
    throw new KeylessError(
      'MEMBER_ACCOUNT_AUDIT',
      `${account.name} is a member account: keyless reads it only through its auditor role, which trusts the scheduled audit alone; save its details there (aws iam get-account-authorization-details) and run keyless audit --authorization-details FILE --account ${account.name}`,
    )
  }
  const [{ IAMClient }, { ssmClientsByRegion }, { accountSource }] = await Promise.all([
    import('@aws-sdk/client-iam'),
    import('../../shared/adapters/aws/access-clients.ts'),
    import('../../shared/adapters/aws/audit-sources.ts'),
  ])
  const overrides = region ? { region } : {}
  const { authorization, targets, simulator } = await accountSource(config, account.id, {
    iam: new IAMClient(overrides),
    ssm: ssmClientsByRegion(overrides),
  }).read()
  return { authorization, targets, simulator }
}

function auditText(findings: AuditFinding[], checked: AuditChecked): string {
  const order = { standing: 0, accepted: 1, grant: 2 } as const
  const rows = [...findings]
    .sort(
      (a, b) =>
        order[a.kind] - order[b.kind] ||
        a.target.localeCompare(b.target) ||
        a.principal.localeCompare(b.principal),
    )
    // The actions by name alone (each is unique across the services): the JSON has them whole.
    .map((finding) => [
      finding.kind,
      finding.target,
      finding.principal,
      finding.actions.map((action) => action.split(':')[1]).join(' '),
      finding.via,
    ])
  const lines = [
    `account ${checked.account}: ${checked.principals} principals, ${checked.candidates} candidates judged in ${checked.simulations} simulations, ${checked.targets} targets on ${checked.instances} instances`,
  ]
  if (rows.length === 0) return `${lines[0]}\nnobody can reach a target's instances outside keyless\n`
  const header = ['kind', 'target', 'principal', 'actions', 'via']
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
  return `${[...lines, line(header), ...rows.map(line)].join('\n')}\n`
}
