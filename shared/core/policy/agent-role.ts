import { HEARTBEAT_PARAMETER } from '../alerts/record.ts'
import type { Partition } from '../aws/arn.ts'
import { KEYLESS_ROLE_PATH } from '../aws/arn.ts'
import { GRANT_ROLE_PATH, GRANT_ROLE_PERSON_TAG, grantBoundaryArn } from './grant-role.ts'

/**
 * The agent role: the only way keyless acts in a member account. The home account's keyless
 * roles assume it; it can create, write and read grant roles and nothing else in IAM, and every
 * IAM write it makes requires the grant role to carry the keyless grant boundary — so whatever
 * keyless's home account is told to write, a member account's grant roles can do no more than a
 * grant can. A service-managed StackSet deploys it with the boundary. These are its documents, as
 * data; nothing here creates or calls anything.
 */

export const AGENT_ROLE_NAME = 'keyless-agent'

export const agentRoleArn = (partition: Partition, account: string): string =>
  `arn:${partition}:iam::${account}:role${KEYLESS_ROLE_PATH}${AGENT_ROLE_NAME}`

/** Every grant role of an account, and no other role: keyless's own roles sit beside, not under. */
export const grantRolesArn = (partition: Partition, account: string): string =>
  `arn:${partition}:iam::${account}:role${GRANT_ROLE_PATH}*`

interface AgentStatement {
  Sid: string
  Effect: 'Allow' | 'Deny'
  Action: string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}

export interface AgentPolicyDocument {
  Version: '2012-10-17'
  Statement: AgentStatement[]
}

/**
 * What a caller may do to grant roles: create, write and re-trust them (`Put`), remove a grant's
 * policy (`Delete`), list their policies (`List`), read a policy's text (`Read`).
 */
export type GrantRoleVerb = 'Put' | 'Delete' | 'List' | 'Read'

/**
 * The IAM actions whose requests carry `iam:PermissionsBoundary` (the boundary being set, or the
 * one the role already has): each is allowed only when it is the keyless grant boundary. A role
 * created without it, or written after losing it, is refused.
 */
const BOUNDED_BY_VERB: Record<GrantRoleVerb, readonly string[]> = {
  Put: ['iam:CreateRole', 'iam:PutRolePolicy'],
  Delete: ['iam:DeleteRolePolicy'],
  List: [],
  Read: [],
}

export const BOUNDED_GRANT_ROLE_WRITES = Object.values(BOUNDED_BY_VERB).flat()

/**
 * Actions IAM does not condition on the boundary, allowed on grant roles only: reads, and a
 * person's trust rewritten when their principal or Identity Center user changes. A grant role's
 * boundary still caps what any trust can reach.
 */
const UNBOUNDED_BY_VERB: Record<GrantRoleVerb, readonly string[]> = {
  Put: ['iam:GetRole', 'iam:UpdateAssumeRolePolicy'],
  Delete: [],
  List: ['iam:ListRolePolicies'],
  Read: ['iam:GetRolePolicy'],
}

/**
 * Tagging a grant role with its person, on creation (IAM asks for `iam:TagRole` beside
 * `iam:CreateRole` when a role is made with tags) and on a role made before keyless tagged. IAM
 * does not condition tagging on the boundary, so the tag's key is the limit: no other tag, whose
 * meaning a policy elsewhere might rest on, can be written.
 */
const TAG_BY_VERB: Record<GrantRoleVerb, readonly string[]> = {
  Put: ['iam:TagRole'],
  Delete: [],
  List: [],
  Read: [],
}

/** Never, on any role: the boundary is what makes a grant role safe, so no caller can lift it. */
export const BOUNDARY_REMOVALS = [
  'iam:DeleteRolePermissionsBoundary',
  'iam:PutRolePermissionsBoundary',
] as const

/**
 * The statements that let a caller do `verbs` to the grant roles of `account` and nothing else
 * in IAM: the agent in a member account, keyless's own functions in the home account.
 */
export function grantRoleStatements(
  partition: Partition,
  account: string,
  verbs: readonly GrantRoleVerb[],
): AgentStatement[] {
  const grantRoles = grantRolesArn(partition, account)
  const bounded = verbs.flatMap((verb) => BOUNDED_BY_VERB[verb])
  const unbounded = verbs.flatMap((verb) => UNBOUNDED_BY_VERB[verb])
  const tagging = verbs.flatMap((verb) => TAG_BY_VERB[verb])
  return [
    ...(bounded.length
      ? [
          {
            Sid: 'WriteBoundedGrantRoles',
            Effect: 'Allow' as const,
            Action: bounded,
            Resource: grantRoles,
            Condition: {
              StringEquals: { 'iam:PermissionsBoundary': grantBoundaryArn(partition, account) },
            },
          },
        ]
      : []),
    ...(unbounded.length
      ? [{ Sid: 'GrantRoles', Effect: 'Allow' as const, Action: unbounded, Resource: grantRoles }]
      : []),
    ...(tagging.length
      ? [
          {
            Sid: 'TagGrantRolesWithTheirPerson',
            Effect: 'Allow' as const,
            Action: tagging,
            Resource: grantRoles,
            // ForAllValues holds of no keys at all; Null makes a request name its keys.
            Condition: {
              'ForAllValues:StringEquals': { 'aws:TagKeys': [GRANT_ROLE_PERSON_TAG] },
              Null: { 'aws:TagKeys': 'false' },
            },
          },
        ]
      : []),
    { Sid: 'NeverLiftTheBoundary', Effect: 'Deny', Action: [...BOUNDARY_REMOVALS], Resource: '*' },
  ]
}

/**
 * The agent's permissions in member account `account`: the grant roles' life, and what ending
 * sessions and judging access events need there (the same as keyless needs at home).
 */
export function agentRolePolicy(
  partition: Partition,
  account: string,
  regions: readonly string[],
): AgentPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      ...grantRoleStatements(partition, account, ['Put', 'Delete', 'List', 'Read']),
      {
        Sid: 'FindSessions',
        Effect: 'Allow',
        Action: ['ssm:DescribeInstanceInformation', 'ssm:DescribeSessions', 'ec2:DescribeTags'],
        Resource: '*',
      },
      {
        Sid: 'EndSessions',
        Effect: 'Allow',
        Action: ['ssm:TerminateSession'],
        Resource: regions.map((region) => `arn:${partition}:ssm:${region}:${account}:session/*`),
      },
      {
        // The reconciler's heartbeat through this account's CloudTrail and forwarding rule, in
        // every region the account is watched in (one parameter name, whatever the region).
        Sid: 'SendHeartbeat',
        Effect: 'Allow',
        Action: ['ssm:PutParameter'],
        Resource: `arn:${partition}:ssm:*:${account}:parameter${HEARTBEAT_PARAMETER}`,
      },
    ],
  }
}

export interface AgentTrustDocument {
  Version: '2012-10-17'
  Statement: {
    Effect: 'Allow'
    Principal: { AWS: string }
    Action: 'sts:AssumeRole'
    Condition: Record<string, Record<string, string>>
  }[]
}

/**
 * Who may assume the agent: keyless's own roles in the home account, and not its grant roles —
 * those live under the same path, and a person holding one must never reach the agent (their
 * boundary refuses sts:AssumeRole as well; this refuses it here too).
 */
export function agentRoleTrust(partition: Partition, homeAccount: string): AgentTrustDocument {
  return trustFromHome(partition, homeAccount, {
    ArnLike: { 'aws:PrincipalArn': `arn:${partition}:iam::${homeAccount}:role${KEYLESS_ROLE_PATH}*` },
    ArnNotLike: { 'aws:PrincipalArn': grantRolesArn(partition, homeAccount) },
  })
}

/** A member account role's trust: the home account's principals that meet `condition`, and no one else. */
export function trustFromHome(
  partition: Partition,
  homeAccount: string,
  condition: Record<string, Record<string, string>>,
): AgentTrustDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${homeAccount}:root` },
        Action: 'sts:AssumeRole',
        Condition: condition,
      },
    ],
  }
}
