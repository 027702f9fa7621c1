import { KEYLESS_ROLE_PATH, type Partition } from '../aws/arn.ts'
import { type AgentPolicyDocument, type AgentTrustDocument, trustFromHome } from './agent-role.ts'

/**
 * The auditor role: how the scheduled audit reads a member account, apart from the agent. It may
 * read the account's IAM whole and ask IAM's simulator about its users and roles, and find the
 * instances Session Manager manages — it changes nothing — and only the home account's audit
 * function may assume it. (The agent, which every acting function assumes, never reads IAM
 * beyond grant roles.) These are its documents, as data; nothing here creates or calls anything.
 */

export const AUDITOR_ROLE_NAME = 'keyless-auditor'

/** The home stack's audit function's role: CloudFormation names it `Keyless-AuditHandlerRole…`. */
export const AUDIT_FUNCTION_ROLE_PREFIX = 'Keyless-Audit'

export const auditorRoleArn = (partition: Partition, account: string): string =>
  `arn:${partition}:iam::${account}:role${KEYLESS_ROLE_PATH}${AUDITOR_ROLE_NAME}`

/** What auditing an account needs: read its IAM, simulate its principals, list its managed instances. */
export function auditStatements(partition: Partition, account: string): AgentPolicyDocument['Statement'] {
  return [
    {
      Sid: 'ReadAccountAuthorization',
      Effect: 'Allow',
      Action: ['iam:GetAccountAuthorizationDetails'],
      Resource: '*',
    },
    {
      Sid: 'SimulatePrincipals',
      Effect: 'Allow',
      Action: ['iam:SimulatePrincipalPolicy'],
      Resource: [`arn:${partition}:iam::${account}:role/*`, `arn:${partition}:iam::${account}:user/*`],
    },
    { Sid: 'FindInstances', Effect: 'Allow', Action: ['ssm:DescribeInstanceInformation'], Resource: '*' },
  ]
}

export function auditorRolePolicy(partition: Partition, account: string): AgentPolicyDocument {
  return { Version: '2012-10-17', Statement: auditStatements(partition, account) }
}

/** Only the home account's audit function may assume the auditor. */
export function auditorRoleTrust(partition: Partition, homeAccount: string): AgentTrustDocument {
  return trustFromHome(partition, homeAccount, {
    ArnLike: {
      'aws:PrincipalArn': `arn:${partition}:iam::${homeAccount}:role${KEYLESS_ROLE_PATH}${AUDIT_FUNCTION_ROLE_PREFIX}*`,
    },
  })
}
