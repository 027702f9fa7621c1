import type { Partition } from '../aws/arn.ts'
import { KEYLESS_ROLE_PATH, parsePrincipalArn } from '../aws/arn.ts'

/**
 * The grant role: where a grant's policy goes when the person has no principal of their own in
 * the target's account (an IAM Identity Center person, or a principal in another account). One
 * keyless-owned role per person per account, `role/keyless/grant/<Slack user id>`, created on
 * first use with a permissions boundary that allows only what a grant policy can, trusting only
 * that person. These are its documents, as data; nothing here creates or calls anything.
 */

/** Where grant roles live: under keyless's own path, apart from keyless's function roles. */
export const GRANT_ROLE_PATH = `${KEYLESS_ROLE_PATH}grant/`

/**
 * A grant role's credentials last an hour at most, so credentials copied off a laptop are of use
 * no longer than that, whatever grant the role holds next.
 */
export const GRANT_ROLE_MAX_SESSION_SECONDS = 3600

/**
 * The tag naming a grant role's person (their Slack user id), for the people and tools that find
 * roles by tag. keyless decides nothing by it: the role's name says whose it is.
 */
export const GRANT_ROLE_PERSON_TAG = 'keyless:person'

export const grantRoleArn = (partition: Partition, account: string, slackUserId: string): string =>
  `arn:${partition}:iam::${account}:role${GRANT_ROLE_PATH}${slackUserId}`

/** Whether `arn` is a grant role (`role/keyless/grant/<id>` of any account). */
export function isGrantRoleArn(arn: string): boolean {
  const principal = parsePrincipalArn(arn)
  return principal?.kind === 'role' && principal.path === GRANT_ROLE_PATH
}

export const GRANT_BOUNDARY_NAME = 'keyless-grant-boundary'

export const grantBoundaryArn = (partition: Partition, account: string): string =>
  `arn:${partition}:iam::${account}:policy${KEYLESS_ROLE_PATH}${GRANT_BOUNDARY_NAME}`

/**
 * Everything a grant policy can ever allow (docs/contract.md "What a grant allows"), and nothing
 * else. As the grant roles' permissions boundary it caps them: whatever is written on a grant
 * role, even `*`, it can do no more than this. The grant policy narrows it to the target's
 * tagged instances and the grant's window.
 */
export const GRANT_BOUNDARY_ACTIONS = [
  'ssm:StartSession',
  'ssm:TerminateSession',
  'ssm:ResumeSession',
  'ssmmessages:OpenDataChannel',
  'ec2-instance-connect:SendSSHPublicKey',
] as const

export interface BoundaryDocument {
  Version: '2012-10-17'
  Statement: { Effect: 'Allow'; Action: string[]; Resource: '*' }[]
}

export function grantBoundaryPolicy(): BoundaryDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: [...GRANT_BOUNDARY_ACTIONS], Resource: '*' }],
  }
}

/** Who a grant role trusts: the person's own IAM principal, or their Identity Center sessions. */
export type GrantRoleHolder =
  | { kind: 'principal'; arn: string }
  /** `user` is the Identity Center user name the session is named after (`alice@example.com`). */
  | { kind: 'identity-center'; permissionSet: string; user: string }

export interface TrustDocument {
  Version: '2012-10-17'
  Statement: {
    Effect: 'Allow'
    Principal: { AWS: string }
    Action: 'sts:AssumeRole'
    Condition?: Record<string, Record<string, string>>
  }[]
}

/**
 * The grant role's trust, for the one person it belongs to. An Identity Center person assumes it
 * from a session of the one static permission set in that account: the session's role is
 * `AWSReservedSSO_<set>_<suffix>` under `aws-reserved/sso.amazonaws.com/` (any region path), and
 * its `aws:userid` ends `:<user>` — another user's session of the same set is refused, as is
 * another set's, or another account's. A person with a principal is trusted by its exact ARN.
 */
export function grantRoleTrust(
  partition: Partition,
  account: string,
  holder: GrantRoleHolder,
): TrustDocument {
  if (holder.kind === 'principal') {
    return {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: holder.arn }, Action: 'sts:AssumeRole' }],
    }
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnLike: {
            'aws:PrincipalArn': `arn:${partition}:iam::${account}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_${holder.permissionSet}_*`,
          },
          StringLike: { 'aws:userid': `*:${holder.user}` },
        },
      },
    ],
  }
}
