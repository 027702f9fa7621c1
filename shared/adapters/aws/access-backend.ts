import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  type IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  paginateListRolePolicies,
  paginateListUserPolicies,
} from '@aws-sdk/client-iam'
import {
  paginateDescribeInstanceInformation,
  paginateDescribeSessions,
  type SSMClient,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry'
import {
  type AccessBackend,
  AccessBackendError,
  AccessBackendRetryableError,
  type ActiveSession,
  GRANT_POLICY_PREFIX,
  type TargetInstance,
  type TargetInstances,
} from '../../core/access/backend.ts'
import type { IamPrincipal } from '../../core/aws/arn.ts'
import type { PolicyDocument } from '../../core/policy/grant-policy.ts'

/**
 * AccessBackend on IAM and Session Manager. Grants attach as inline policies named
 * `keyless-<grant id>`: PutRolePolicy for roles, PutUserPolicy for users (whose inline policies
 * share 2,048 characters; the policy builder refuses a grant that cannot fit on its own, and a
 * user whose other inline policies leave too little room fails activation with IAM's reason).
 */
export class AwsAccessBackend implements AccessBackend {
  readonly #iam: IAMClient
  readonly #ssm: (region: string) => SSMClient

  constructor(iam: IAMClient, ssm: (region: string) => SSMClient) {
    this.#iam = iam
    this.#ssm = ssm
  }

  async attachPolicy(principal: IamPrincipal, policyName: string, policy: PolicyDocument): Promise<void> {
    const document = JSON.stringify(policy)
    await call(`attach ${policyName} to ${principal.arn}`, () =>
      principal.kind === 'role'
        ? this.#iam.send(
            new PutRolePolicyCommand({
              RoleName: principal.name,
              PolicyName: policyName,
              PolicyDocument: document,
            }),
          )
        : this.#iam.send(
            new PutUserPolicyCommand({
              UserName: principal.name,
              PolicyName: policyName,
              PolicyDocument: document,
            }),
          ),
    )
  }

  async detachPolicy(principal: IamPrincipal, policyName: string): Promise<void> {
    try {
      await call(`remove ${policyName} from ${principal.arn}`, () =>
        principal.kind === 'role'
          ? this.#iam.send(new DeleteRolePolicyCommand({ RoleName: principal.name, PolicyName: policyName }))
          : this.#iam.send(new DeleteUserPolicyCommand({ UserName: principal.name, PolicyName: policyName })),
      )
    } catch (error) {
      // Already gone is what detaching wants.
      if ((error as Error).cause instanceof NoSuchEntityException) return
      throw error
    }
  }

  async listGrantPolicies(principal: IamPrincipal): Promise<string[]> {
    return call(`list the inline policies of ${principal.arn}`, async () => {
      const client = { client: this.#iam }
      const pages =
        principal.kind === 'role'
          ? paginateListRolePolicies(client, { RoleName: principal.name })
          : paginateListUserPolicies(client, { UserName: principal.name })
      const names: string[] = []
      for await (const page of pages) {
        names.push(...(page.PolicyNames ?? []).filter((name) => name.startsWith(GRANT_POLICY_PREFIX)))
      }
      return names
    })
  }

  async listInstances(target: TargetInstances): Promise<TargetInstance[]> {
    const found: TargetInstance[] = []
    for (const region of target.regions) {
      await call(`list the instances tagged ${target.tagKey}=${target.tagValue} in ${region}`, async () => {
        const pages = paginateDescribeInstanceInformation(
          { client: this.#ssm(region) },
          { Filters: [{ Key: `tag:${target.tagKey}`, Values: [target.tagValue] }] },
        )
        for await (const page of pages) {
          for (const info of page.InstanceInformationList ?? [])
            if (info.InstanceId) found.push({ instanceId: info.InstanceId, region })
        }
      })
    }
    return found
  }

  async listActiveSessions(principal: IamPrincipal, target: TargetInstances): Promise<ActiveSession[]> {
    const sessions: ActiveSession[] = []
    const tagged = await this.listInstances(target)
    for (const region of target.regions) {
      const ssm = this.#ssm(region)
      const instances = new Set(
        tagged.filter((instance) => instance.region === region).map((instance) => instance.instanceId),
      )
      if (instances.size === 0) continue
      // DescribeSessions filters by one owner ARN, but a role's sessions are owned by its
      // assumed-role sessions; list the region's active sessions and match owner and target here.
      const active = await call(`list active sessions in ${region}`, async () => {
        const all = []
        for await (const page of paginateDescribeSessions({ client: ssm }, { State: 'Active' }))
          all.push(...(page.Sessions ?? []))
        return all
      })
      for (const session of active) {
        if (
          session.SessionId &&
          session.Target &&
          instances.has(session.Target) &&
          ownedBy(session.Owner, principal)
        ) {
          sessions.push({
            sessionId: session.SessionId,
            region,
            target: session.Target,
            owner: session.Owner ?? '',
          })
        }
      }
    }
    return sessions
  }

  async terminateSession(session: ActiveSession): Promise<void> {
    await call(`terminate session ${session.sessionId}`, () =>
      this.#ssm(session.region).send(new TerminateSessionCommand({ SessionId: session.sessionId })),
    )
  }
}

/** A session belongs to a role when an assumed-role session of that role owns it; to a user when the user does. */
export function ownedBy(owner: string | undefined, principal: IamPrincipal): boolean {
  if (!owner) return false
  if (principal.kind === 'user') return owner === principal.arn
  return owner.startsWith(
    `arn:${principal.partition}:sts::${principal.account}:assumed-role/${principal.name}/`,
  )
}

/** Runs one AWS call, turning its failure into a retryable error or a clear, final one. */
async function call<T>(what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (error) {
    const failure = error as Parameters<typeof isThrottlingError>[0]
    // The SDK's own classification: throttling, transient (timeouts, dropped connections) and
    // server errors are worth retrying. Except IAM's LimitExceeded, which the SDK counts as
    // throttling but is a quota (an inline policy too large beside the principal's others):
    // retrying cannot make it fit, so it fails at once with IAM's reason.
    if (
      failure.name !== 'LimitExceededException' &&
      (isThrottlingError(failure) || isTransientError(failure) || isServerError(failure))
    ) {
      throw new AccessBackendRetryableError(`${what}: ${failure.name}: ${failure.message}`, { cause: error })
    }
    const final = new AccessBackendError(`could not ${what}: ${failure.name}: ${failure.message}`)
    final.cause = error
    throw final
  }
}
