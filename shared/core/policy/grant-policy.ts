import { type IamPrincipal, PRINCIPAL_ARN_EXAMPLE, parsePrincipalArn } from '../aws/arn.ts'
import { addSeconds, isoSeconds } from '../clock.ts'
import { checkWithinMaximum, findTarget } from '../config/lookup.ts'
import type { KeylessConfig, TargetConfig } from '../config/schema.ts'
import { KeylessError } from '../errors.ts'

/**
 * The IAM policy a grant attaches (docs/contract.md "What a grant allows"): exactly what the target's access
 * kinds need, on instances carrying the target's tag, until the grant's expiry, and nothing
 * else. Every statement carries the expiry, so the policy stops working at expiry even if its
 * removal fails.
 */

export interface PolicyStatement {
  Effect: 'Allow'
  Action: string | string[]
  Resource: string | string[]
  Condition: Record<string, Record<string, string | string[]>>
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: PolicyStatement[]
}

/**
 * A statement with what it is for, in words. The attached policy carries no `Sid`s (a user's
 * inline policies share 2,048 characters); `keyless policy --explain` prints these instead.
 */
export interface ExplainedStatement {
  explanation: string
  statement: PolicyStatement
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
  return {
    Version: '2012-10-17',
    Statement: explainGrantPolicy(config, target, expiresAt).map(({ statement }) => statement),
  }
}

/**
 * The statements of a grant's policy, each with its reason. Kept small without widening it
 * (test/policy/policy-compaction.test.ts runs the IAM simulator over the same grid before and
 * after): session documents are named in every region at once (`arn:…:ssm:*:…`), because a
 * session's document is authorised beside its instance, whose ARN stays region-bound; and the
 * documents share one statement with the data channels, whose condition is the same and whose
 * resources are of another type (a document ARN never names a session, nor the reverse).
 */
export function explainGrantPolicy(
  config: KeylessConfig,
  target: TargetConfig,
  expiresAt: Date,
): ExplainedStatement[] {
  // The target's account and regions: the home account's unless the target names another.
  const { partition } = config
  const { id: account, regions } = target.account
  const perRegion = (resource: (region: string) => string) => regions.map(resource)
  const instances = perRegion((region) => `arn:${partition}:ec2:${region}:${account}:instance/*`)
  const notAfterExpiry = { DateLessThan: { 'aws:CurrentTime': isoSeconds(expiresAt) } }
  const has = (kind: TargetConfig['access'][number]) => target.access.includes(kind)
  const documentArn = (name: string, owner = account) => `arn:${partition}:ssm:*:${owner}:document/${name}`
  const documents = [
    ...(has('shell') ? [documentArn(SHELL_DOCUMENT)] : []),
    ...(has('port-forward')
      ? target.ports.map((port) => documentArn(portForwardDocumentName(target.name, port)))
      : []),
    // AWS-owned documents have no account in their ARN.
    ...(has('ssh') ? [documentArn(SSH_DOCUMENT, '')] : []),
  ]
  const statements: ExplainedStatement[] = [
    {
      explanation: `Start a session on instances tagged ${target.tagKey}=${target.tagValue} in ${regions.join(', ')}, naming a document (no fallback to a shell the grant does not give).`,
      // The instance and the document are authorised separately; a shared statement would need
      // an ...IfExists tag condition, which an untagged instance would pass.
      statement: {
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
    },
    {
      explanation: `Use the granted session documents (${documents.map((arn) => arn.split('/').at(-1)).join(', ')}), and open data channels on the principal's own sessions.`,
      statement: {
        Effect: 'Allow',
        Action: ['ssm:StartSession', 'ssmmessages:OpenDataChannel'],
        // The Session Manager plugin signs OpenDataChannel since late 2025; AWS scopes it to the
        // caller's own sessions by id prefix.
        Resource: [
          ...documents,
          ...perRegion((region) => `arn:${partition}:ssm:${region}:${account}:session/\${aws:userid}-*`),
        ],
        Condition: notAfterExpiry,
      },
    },
  ]
  if (has('ssh') && target.osUser) {
    statements.push({
      explanation: `Send an SSH public key (EC2 Instance Connect) for OS user ${target.osUser} to the same instances.`,
      statement: {
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
      },
    })
  }
  statements.push({
    explanation: "End or resume the principal's own sessions.",
    // AWS's documented form: sessions carry an AWS-applied tag naming the user id that started them.
    statement: {
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      Resource: perRegion((region) => `arn:${partition}:ssm:${region}:${account}:session/*`),
      Condition: {
        StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': '${aws:userid}' },
        ...notAfterExpiry,
      },
    },
  })
  return statements
}

/** IAM counts policy size without white space: the minified JSON length. */
export const policySize = (policy: PolicyDocument): number => JSON.stringify(policy).length

export interface GrantPolicy {
  policy: PolicyDocument
  /** The policy's statements, each with what it is for (`keyless policy --explain`). */
  explained: ExplainedStatement[]
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
  request: {
    target: string
    targets?: string[]
    principal: string
    durationSeconds: number
    activatedAt: Date
  },
): GrantPolicy {
  const targets = (request.targets ?? [request.target]).map((name) => findTarget(config, name))
  for (const target of targets) checkWithinMaximum(target, request.durationSeconds)
  return policyUntil(
    config,
    targets,
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
  grant: { target: string; targets?: string[]; principal: string },
  expiresAt: string,
): GrantPolicy {
  const targets = (grant.targets ?? [grant.target]).map((name) => findTarget(config, name))
  return policyUntil(config, targets, grant.principal, new Date(expiresAt))
}

/**
 * One policy over several targets of one account: each target's statements, the same expiry on
 * every one; a statement two targets would both write (ending one's own sessions in a region
 * they share) is written once.
 */
export function explainGrantPolicyOver(
  config: KeylessConfig,
  targets: TargetConfig[],
  expiresAt: Date,
): ExplainedStatement[] {
  const seen = new Set<string>()
  return targets
    .flatMap((target) => explainGrantPolicy(config, target, expiresAt))
    .filter(({ statement }) => {
      const key = JSON.stringify(statement)
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
}

function policyUntil(
  config: KeylessConfig,
  targetOrTargets: TargetConfig | TargetConfig[],
  principalArn: string,
  expiresAt: Date,
): GrantPolicy {
  const targets = [targetOrTargets].flat()
  const names = targets.map((target) => target.name).join(', ')
  const principal = parsePrincipalArn(principalArn)
  if (!principal) {
    throw new KeylessError(
      'INVALID_PRINCIPAL',
      `"${principalArn}" is not an IAM role or user ARN, e.g. ${PRINCIPAL_ARN_EXAMPLE}.`,
    )
  }
  for (const target of targets) {
    if (principal.account !== target.account.id || principal.partition !== config.partition) {
      throw new KeylessError(
        'INVALID_PRINCIPAL',
        `${principal.arn} is not in ${target.name}'s account ${target.account.id} (${config.partition}); grants attach there.`,
      )
    }
  }
  const explained = explainGrantPolicyOver(config, targets, expiresAt)
  const policy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: explained.map(({ statement }) => statement),
  }
  const size = policySize(policy)
  const quota = INLINE_POLICY_QUOTA[principal.kind]
  if (size > quota) {
    throw new KeylessError(
      'POLICY_TOO_LARGE',
      `The policy for ${names} is ${size} characters, over the ${quota} an IAM ${principal.kind}'s inline policies may total; ${principal.kind === 'user' ? 'attach grants to an IAM role, or ' : ''}${targets.length > 1 ? 'ask for fewer targets at once, or ' : ''}give ${names} fewer regions, ports or access kinds.`,
    )
  }
  return { policy, explained, expiresAt: isoSeconds(expiresAt), size, quota, principal }
}
