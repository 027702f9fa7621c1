import { type IamPrincipal, PRINCIPAL_ARN_EXAMPLE, parsePrincipalArn } from '../aws/arn.ts'
import { addSeconds, isoSeconds } from '../clock.ts'
import { checkWithinMaximum, findTarget } from '../config/lookup.ts'
import type { KeylessConfig, TargetConfig } from '../config/schema.ts'
import { KeylessError } from '../errors.ts'

/**
 * The IAM policy a grant attaches (SPEC.md "Access kinds"): exactly what the target's access
 * kinds need, on instances carrying the target's tag, until the grant's expiry, and nothing
 * else. Every statement carries the expiry, so the policy stops working at expiry even if its
 * removal fails.
 */

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Action: string | string[]
  Resource: string | string[]
  Condition: Record<string, Record<string, string | string[]>>
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: PolicyStatement[]
}

/** The account's own shell document: it holds Session Manager's logging preferences. */
export const SHELL_DOCUMENT = 'SSM-SessionManagerRunShell'
/** AWS-owned: the SSM document that carries an SSH connection over Session Manager. */
export const SSH_DOCUMENT = 'AWS-StartSSHSession'

/**
 * IAM cannot condition on a session document's parameters, so each forwarded port gets a
 * document of its own with the port fixed in it; the stack creates one per target and port.
 */
export const portForwardDocumentName = (target: string, port: number): string =>
  `keyless-${target}-port-${port}`

/**
 * IAM's limits on inline policy size, in characters not counting white space: a user's inline
 * policies may total 2,048; a role's 10,240. keyless attaches one inline policy per grant.
 */
export const INLINE_POLICY_QUOTA: Record<IamPrincipal['kind'], number> = { user: 2048, role: 10240 }

export function buildGrantPolicy(
  config: KeylessConfig,
  target: TargetConfig,
  expiresAt: Date,
): PolicyDocument {
  const { partition, account, regions } = config
  const perRegion = (resource: (region: string) => string) => regions.map(resource)
  const instances = perRegion((region) => `arn:${partition}:ec2:${region}:${account}:instance/*`)
  const notAfterExpiry = { DateLessThan: { 'aws:CurrentTime': isoSeconds(expiresAt) } }
  const has = (kind: TargetConfig['access'][number]) => target.access.includes(kind)

  const documents = [
    ...(has('shell')
      ? perRegion((region) => `arn:${partition}:ssm:${region}:${account}:document/${SHELL_DOCUMENT}`)
      : []),
    ...(has('port-forward')
      ? target.ports.flatMap((port) =>
          perRegion(
            (region) =>
              `arn:${partition}:ssm:${region}:${account}:document/${portForwardDocumentName(target.name, port)}`,
          ),
        )
      : []),
    ...(has('ssh') ? perRegion((region) => `arn:${partition}:ssm:${region}::document/${SSH_DOCUMENT}`) : []),
  ]

  const statements: PolicyStatement[] = [
    {
      // The instance and the document are authorised separately; a shared statement would need
      // an ...IfExists tag condition, which an untagged instance would pass.
      Sid: 'StartSessionOnTaggedInstances',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: instances,
      Condition: {
        StringEquals: { [`ssm:resourceTag/${target.tagKey}`]: target.tagValue },
        // Without this, a session that names no document falls back to the shell document even
        // when this grant gives no shell access (AWS: "Enforce a session document permission check").
        BoolIfExists: { 'ssm:SessionDocumentAccessCheck': 'true' },
        ...notAfterExpiry,
      },
    },
    {
      Sid: 'StartSessionWithGrantedDocuments',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: documents,
      Condition: notAfterExpiry,
    },
  ]
  if (has('ssh') && target.osUser) {
    statements.push({
      Sid: 'SendSshKeyForOsUser',
      Effect: 'Allow',
      Action: 'ec2-instance-connect:SendSSHPublicKey',
      Resource: instances,
      Condition: {
        StringEquals: {
          [`aws:ResourceTag/${target.tagKey}`]: target.tagValue,
          'ec2:osuser': target.osUser,
        },
        ...notAfterExpiry,
      },
    })
  }
  statements.push(
    {
      // AWS's documented form: sessions carry an AWS-applied tag naming the user id that started them.
      Sid: 'EndOrResumeOwnSessions',
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      Resource: perRegion((region) => `arn:${partition}:ssm:${region}:${account}:session/*`),
      Condition: {
        StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': '${aws:userid}' },
        ...notAfterExpiry,
      },
    },
    {
      // The Session Manager plugin signs OpenDataChannel since late 2025; AWS scopes it to the
      // caller's own sessions by id prefix.
      Sid: 'OpenOwnDataChannels',
      Effect: 'Allow',
      Action: 'ssmmessages:OpenDataChannel',
      Resource: perRegion((region) => `arn:${partition}:ssm:${region}:${account}:session/\${aws:userid}-*`),
      Condition: notAfterExpiry,
    },
  )
  return { Version: '2012-10-17', Statement: statements }
}

/** IAM counts policy size without white space: the minified JSON length. */
export const policySize = (policy: PolicyDocument): number => JSON.stringify(policy).length

export interface GrantPolicy {
  policy: PolicyDocument
  expiresAt: string
  size: number
  quota: number
  principal: IamPrincipal
}

/**
 * The policy for `durationSeconds` of access to `targetName` from `activatedAt`, or a refusal
 * a person can act on: unknown target, duration over the target's maximum, a principal that is
 * not an IAM role or user of the configured account, or a policy too large for its quota.
 */
export function grantPolicyFor(
  config: KeylessConfig,
  request: { target: string; principal: string; durationSeconds: number; activatedAt: Date },
): GrantPolicy {
  const target = findTarget(config, request.target)
  checkWithinMaximum(target, request.durationSeconds)
  return policyUntil(
    config,
    target,
    request.principal,
    addSeconds(isoSeconds(request.activatedAt), request.durationSeconds),
  )
}

/**
 * The policy a grant attaches to its principal, ending at `expiresAt` (its expiry at
 * activation, or after an approved extension). Refuses like grantPolicyFor, except that the
 * duration was checked when the grant was requested or extended.
 */
export function policyForGrant(
  config: KeylessConfig,
  grant: { target: string; principal: string },
  expiresAt: string,
): GrantPolicy {
  return policyUntil(config, findTarget(config, grant.target), grant.principal, new Date(expiresAt))
}

function policyUntil(
  config: KeylessConfig,
  target: TargetConfig,
  principalArn: string,
  expiresAt: Date,
): GrantPolicy {
  const principal = parsePrincipalArn(principalArn)
  if (!principal) {
    throw new KeylessError(
      'INVALID_PRINCIPAL',
      `"${principalArn}" is not an IAM role or user ARN, e.g. ${PRINCIPAL_ARN_EXAMPLE}.`,
    )
  }
  if (principal.account !== config.account || principal.partition !== config.partition) {
    throw new KeylessError(
      'INVALID_PRINCIPAL',
      `${principal.arn} is not in the configured account ${config.account} (${config.partition}); grants attach there.`,
    )
  }
  const policy = buildGrantPolicy(config, target, expiresAt)
  const size = policySize(policy)
  const quota = INLINE_POLICY_QUOTA[principal.kind]
  if (size > quota) {
    throw new KeylessError(
      'POLICY_TOO_LARGE',
      `The policy for ${target.name} is ${size} characters, over the ${quota} an IAM ${principal.kind}'s inline policies may total; ${principal.kind === 'user' ? 'attach grants to an IAM role, or ' : ''}give ${target.name} fewer regions, ports or access kinds.`,
    )
  }
  return { policy, expiresAt: isoSeconds(expiresAt), size, quota, principal }
}
