import type { Partition } from '../aws/arn.ts'
import { KEYLESS_ROLE_PATH } from '../aws/arn.ts'
import { GRANT_ROLE_PATH, grantBoundaryArn } from './grant-role.ts'

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
  Condition?: Record<string, Record<string, string>>
}

export interface AgentPolicyDocument {
  Version: '2012-10-17'
  Statement: AgentStatement[]
}

/**
 * The IAM actions whose requests carry `iam:PermissionsBoundary` (the boundary being set, or the
 * one the role already has): each is allowed only when it is the keyless grant boundary. A role
 * created without it, or written after losing it, is refused.
 */
export const BOUNDED_GRANT_ROLE_WRITES = [
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
] as const

/**
 * Writes IAM does not condition on the boundary, allowed on grant roles only: a person's trust is
 * rewritten when their principal or Identity Center user changes. A grant role's boundary still
 * caps what any trust can reach.
 */
export const GRANT_ROLE_TRUST_WRITES = ['iam:UpdateAssumeRolePolicy'] as const

export const GRANT_ROLE_READS = ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies'] as const

/** Never, on any role: the boundary is what makes a grant role safe, so the agent cannot lift it. */
export const BOUNDARY_REMOVALS = [
  'iam:DeleteRolePermissionsBoundary',
  'iam:PutRolePermissionsBoundary',
] as const

/**
 * The agent's permissions in member account `account`: the grant roles' life, and what ending
 * sessions and judging access events need there (the same as keyless needs at home).
 */
export function agentRolePolicy(
  partition: Partition,
  account: string,
  regions: readonly string[],
): AgentPolicyDocument {
  const grantRoles = grantRolesArn(partition, account)
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'WriteBoundedGrantRoles',
        Effect: 'Allow',
        Action: [...BOUNDED_GRANT_ROLE_WRITES],
        Resource: grantRoles,
        Condition: {
          StringEquals: { 'iam:PermissionsBoundary': grantBoundaryArn(partition, account) },
        },
      },
      { Sid: 'TrustGrantRoles', Effect: 'Allow', Action: [...GRANT_ROLE_TRUST_WRITES], Resource: grantRoles },
      { Sid: 'ReadGrantRoles', Effect: 'Allow', Action: [...GRANT_ROLE_READS], Resource: grantRoles },
      { Sid: 'NeverLiftTheBoundary', Effect: 'Deny', Action: [...BOUNDARY_REMOVALS], Resource: '*' },
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
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${homeAccount}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnLike: { 'aws:PrincipalArn': `arn:${partition}:iam::${homeAccount}:role${KEYLESS_ROLE_PATH}*` },
          ArnNotLike: { 'aws:PrincipalArn': grantRolesArn(partition, homeAccount) },
        },
      },
    ],
  }
}
