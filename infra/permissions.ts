import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam'
import type { ILogGroup } from 'aws-cdk-lib/aws-logs'
import { KEYLESS_ROLE_PATH, parsePrincipalArn } from '../shared/core/aws/arn.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { KeylessError } from '../shared/core/errors.ts'
import { agentRoleArn, grantRoleStatements } from '../shared/core/policy/agent-role.ts'
import { placedGrantRoles } from '../shared/core/policy/placement.ts'

/**
 * The IAM statements keyless's own roles are built from, one reason each (infra/PERMISSIONS.md
 * gives them all). Resources are literal ARNs built from the config wherever IAM can scope an
 * action; where it cannot, the action gets `*` and the acknowledgement says why.
 */

/**
 * Why a statement's resource holds a wildcard, by statement id: a function's role acknowledges
 * cdk-nag's IAM5 finding with this reason, and a wildcard without one stops synth.
 */
export const WILDCARD_REASONS: Readonly<Record<string, string>> = {
  GrantTable:
    "The table's indexes (table/<name>/index/*): queries by status and by principal read them; the table is keyless's own.",
  FindSessions:
    'ssm:DescribeInstanceInformation and ssm:DescribeSessions have no resource-level permissions in IAM.',
  FindInstances: 'ssm:DescribeInstanceInformation has no resource-level permissions in IAM.',
  ReadAccountAuthorization:
    'iam:GetAccountAuthorizationDetails reads the whole account and has no resource-level permissions: the audit reads every principal, and changes nothing.',
  SimulatePrincipals:
    "iam:SimulatePrincipalPolicy on the account's roles and users: the audit asks about whichever principal may reach a target, and simulating changes nothing.",
  EndSessions:
    "Session ids begin with the caller's session name, unknown in advance: terminate is scoped to sessions in the configured regions of this account.",
  AnswerWorkflowWaits:
    'states:SendTaskSuccess and SendTaskFailure accept only * as a resource; the unguessable task token names the one waiting task.',
  FindLostExecutions:
    "Execution names (<grant id>, <grant id>-2, …) are unknown in advance: DescribeExecution is scoped to the grant workflow's own executions.",
  WriteBoundedGrantRoles:
    'Grant roles are role/keyless/grant/<Slack user id>, one per person, created on first use: every write needs the keyless grant boundary on the role.',
  GrantRoles:
    'Grant roles are role/keyless/grant/<Slack user id>, one per person, created on first use: read, re-trusted when the config changes their owner, their policies listed.',
  TagGrantRolesWithTheirPerson:
    'Grant roles are role/keyless/grant/<Slack user id>, one per person, created on first use: tagged with their person (keyless:person) and no other key.',
  NeverLiftTheBoundary: 'A deny: no boundary is ever lifted or swapped, on any role.',
  InstanceTags:
    "ec2:DescribeTags has no resource-level permissions; the call filters to the event's instances and the one tag key.",
}

/** Every role keyless creates lives under this path, so one ARN pattern names them all. */
export { KEYLESS_ROLE_PATH }

/** The inline-policy calls a grant's life needs: attach (Put), remove (Delete), find orphans (List). */
export type PolicyVerb = 'Put' | 'Delete' | 'List'

/** The ARN pattern of keyless's own roles: never a grant's principal, never touched by a grant. */
export const ownRolesArn = (config: KeylessConfig): string =>
  `arn:${config.partition}:iam::${config.account}:role${KEYLESS_ROLE_PATH}*`

/** The stacks' names (home `Keyless`, satellites `Keyless-<region>`) begin every role name CDK gives them. */
export const KEYLESS_STACK_NAME = 'Keyless'

/**
 * keyless's own roles by name: those of its stacks, which CloudFormation names
 * `<stack>-<logical id>-<suffix>`. The grant roles beside them (`/keyless/grant/<Slack user id>`)
 * are not among them: a Slack user id never begins `Keyless`.
 */
export const ownStackRolesArn = (config: KeylessConfig): string =>
  `arn:${config.partition}:iam::${config.account}:role${KEYLESS_ROLE_PATH}${KEYLESS_STACK_NAME}*`

/**
 * The configured principals, refused if one of them is keyless's own role: a config naming one
 * would let a grant widen keyless itself. (The explicit deny below stops it in IAM too.)
 */
export function grantPrincipals(config: KeylessConfig): { roles: string[]; users: string[] } {
  const roles: string[] = []
  const users: string[] = []
  for (const person of config.people.values()) {
    if (person.principal === undefined) continue // an Identity Center person: no principal of their own
    const principal = parsePrincipalArn(person.principal)
    if (!principal) continue // the config schema already refused it
    if (person.principal.startsWith(ownRolesArn(config).slice(0, -1))) {
      throw new KeylessError(
        'CONFIG_INVALID',
        `people.${person.slackUserId}.principal: ${person.principal} is under ${KEYLESS_ROLE_PATH}, where keyless's own roles live; grants never attach there`,
      )
    }
    ;(principal.kind === 'role' ? roles : users).push(person.principal)
  }
  return { roles: [...new Set(roles)].sort(), users: [...new Set(users)].sort() }
}

/**
 * Inline-policy calls on the configured principals' exact ARNs, and on nothing else; with no
 * principal configured, no statement (IAM has no empty resource list).
 */
export function principalPolicyStatements(config: KeylessConfig, verbs: PolicyVerb[]): PolicyStatement[] {
  const { roles, users } = grantPrincipals(config)
  const statements: PolicyStatement[] = []
  const actions = (kind: 'Role' | 'User') =>
    verbs.map((verb) => (verb === 'List' ? `iam:List${kind}Policies` : `iam:${verb}${kind}Policy`))
  if (roles.length) {
    statements.push(
      new PolicyStatement({ sid: 'GrantPoliciesOnRoles', actions: actions('Role'), resources: roles }),
    )
  }
  if (users.length) {
    statements.push(
      new PolicyStatement({ sid: 'GrantPoliciesOnUsers', actions: actions('User'), resources: users }),
    )
  }
  return [...statements, denyOwnRoles(config)]
}

/**
 * An explicit deny beside every allow on IAM: whatever the allow says (a bug, a poisoned config),
 * keyless can never change the policies, boundary or trust of its own roles.
 */
export function denyOwnRoles(config: KeylessConfig): PolicyStatement {
  return new PolicyStatement({
    sid: 'NeverOwnRoles',
    effect: Effect.DENY,
    actions: [
      'iam:PutRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:GetRolePolicy',
      'iam:ListRolePolicies',
      'iam:AttachRolePolicy',
      'iam:DetachRolePolicy',
      'iam:PutRolePermissionsBoundary',
      'iam:DeleteRolePermissionsBoundary',
      'iam:UpdateAssumeRolePolicy',
    ],
    resources: [ownStackRolesArn(config)],
  })
}

/**
 * The home account's grant roles (an Identity Center person's, for a home target), written as
 * the agent writes a member account's: only while they carry the keyless grant boundary. `Put`
 * creates, writes and re-trusts; `Delete` removes a policy; `List` finds policies. Nothing when
 * no one's home grants go on a grant role.
 */
export function homeGrantRoleStatements(config: KeylessConfig, verbs: PolicyVerb[]): PolicyStatement[] {
  if (!needsHomeGrantRoles(config)) return []
  return grantRoleStatements(config.partition, config.account, verbs).map((statement) =>
    PolicyStatement.fromJson(statement),
  )
}

/** Whether some person's grant on a home target goes on their grant role (an Identity Center person's). */
export function needsHomeGrantRoles(config: KeylessConfig): boolean {
  return placedGrantRoles(config).some((role) => role.account === config.account)
}

/** The target's instances, named in the "active" message (no resource-level permissions in IAM). */
export const instanceListingStatement = (): PolicyStatement =>
  new PolicyStatement({
    sid: 'FindInstances',
    actions: ['ssm:DescribeInstanceInformation'],
    resources: ['*'],
  })

/**
 * Ending live sessions on revoke: find the target's instances and the region's active sessions
 * (neither call has resource-level permissions in IAM), and terminate sessions in the configured
 * regions of this account only.
 */
export function sessionEndingStatements(config: KeylessConfig): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'FindSessions',
      actions: ['ssm:DescribeInstanceInformation', 'ssm:DescribeSessions'],
      resources: ['*'],
    }),
    new PolicyStatement({
      sid: 'EndSessions',
      actions: ['ssm:TerminateSession'],
      resources: config.regions.map(
        (region) => `arn:${config.partition}:ssm:${region}:${config.account}:session/*`,
      ),
    }),
  ]
}

/**
 * Acting in the member accounts: assuming each configured account's agent role
 * (`role/keyless/keyless-agent`) and no other role; without member accounts, nothing.
 */
export function actAsAgentsStatements(config: KeylessConfig): PolicyStatement[] {
  const agents = [...config.accounts.values()].map((account) => agentRoleArn(config.partition, account.id))
  if (agents.length === 0) return []
  return [new PolicyStatement({ sid: 'ActAsAgents', actions: ['sts:AssumeRole'], resources: agents })]
}

/** A Lambda function's own logs, and no other log group. */
export const ownLogsStatement = (logGroup: ILogGroup): PolicyStatement =>
  new PolicyStatement({
    sid: 'OwnLogs',
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  })

/**
 * Ending a workflow's wait (an approval, a revoke, an extension): Step Functions' SendTask*
 * calls accept only `*` as a resource; the task token itself names the one waiting task.
 */
export const answerWorkflowStatement = (): PolicyStatement =>
  new PolicyStatement({
    sid: 'AnswerWorkflowWaits',
    actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
    resources: ['*'],
  })
