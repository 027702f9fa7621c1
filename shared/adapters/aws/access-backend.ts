import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  type IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  paginateListRolePolicies,
  paginateListUserPolicies,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
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
  type GrantRolePrepared,
  type TargetInstance,
  type TargetInstances,
} from '../../core/access/backend.ts'
import {
  type GrantRoleFound,
  type GrantRoleWanted,
  grantRoleStep,
} from '../../core/access/grant-role-steps.ts'
import { type IamPrincipal, parsePrincipalArn } from '../../core/aws/arn.ts'
import type { PolicyDocument } from '../../core/policy/grant-policy.ts'
import { isGrantRoleArn } from '../../core/policy/grant-role.ts'
import type { AccessClients } from './access-clients.ts'

/**
 * AccessBackend on IAM and Session Manager. Grants attach as inline policies named
 * `keyless-<grant id>`: PutRolePolicy for roles, PutUserPolicy for users (whose inline policies
 * share 2,048 characters; the policy builder refuses a grant that cannot fit on its own, and a
 * user whose other inline policies leave too little room fails activation with IAM's reason).
 */
export class AwsAccessBackend implements AccessBackend {
  readonly #clients: (account: string) => AccessClients

  /** `clients`: each account's IAM and Session Manager clients (`accessClientsByAccount`). */
  constructor(clients: (account: string) => AccessClients) {
    this.#clients = clients
  }

  #iamOf(account: string): IAMClient {
    return this.#clients(account).iam
  }

  #ssmOf(account: string, region: string): SSMClient {
    return this.#clients(account).ssm(region)
  }

  async attachPolicy(principal: IamPrincipal, policyName: string, policy: PolicyDocument): Promise<void> {
    const document = JSON.stringify(policy)
    await call(`attach ${policyName} to ${principal.arn}`, () =>
      principal.kind === 'role'
        ? this.#iamOf(principal.account).send(
            new PutRolePolicyCommand({
              RoleName: principal.name,
              PolicyName: policyName,
              PolicyDocument: document,
            }),
          )
        : this.#iamOf(principal.account).send(
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
          ? this.#iamOf(principal.account).send(
              new DeleteRolePolicyCommand({ RoleName: principal.name, PolicyName: policyName }),
            )
          : this.#iamOf(principal.account).send(
              new DeleteUserPolicyCommand({ UserName: principal.name, PolicyName: policyName }),
            ),
      )
    } catch (error) {
      // Already gone is what detaching wants.
      if ((error as Error).cause instanceof NoSuchEntityException) return
      throw error
    }
  }

  async listGrantPolicies(principal: IamPrincipal): Promise<string[]> {
    try {
      return await call(`list the inline policies of ${principal.arn}`, async () => {
        const client = { client: this.#iamOf(principal.account) }
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
    } catch (error) {
      // A grant role not created yet holds nothing (a configured principal that is missing is
      // the config's error, and says so).
      if (isGrantRoleArn(principal.arn) && (error as Error).cause instanceof NoSuchEntityException) return []
      throw error
    }
  }

  async listInstances(target: TargetInstances): Promise<TargetInstance[]> {
    const found: TargetInstance[] = []
    for (const region of target.regions) {
      await call(`list the instances tagged ${target.tagKey}=${target.tagValue} in ${region}`, async () => {
        const pages = paginateDescribeInstanceInformation(
          { client: this.#ssmOf(target.account, region) },
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
      const ssm = this.#ssmOf(target.account, region)
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
            account: target.account,
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
      this.#ssmOf(session.account, session.region).send(
        new TerminateSessionCommand({ SessionId: session.sessionId }),
      ),
    )
  }

  async prepareGrantRole(wanted: GrantRoleWanted): Promise<GrantRolePrepared> {
    const role = parsePrincipalArn(wanted.roleArn)
    if (role?.kind !== 'role') throw new AccessBackendError(`${wanted.roleArn} is not a role ARN`)
    const step = grantRoleStep(wanted, await this.#readRole(role))
    switch (step.kind) {
      case 'ready':
        return {}
      case 'refuse':
        throw new AccessBackendError(step.reason)
      case 'update': {
        const { trust, tags } = step
        if (trust) {
          await call(`replace the trust of ${role.arn}`, () =>
            this.#iamOf(role.account).send(
              new UpdateAssumeRolePolicyCommand({
                RoleName: role.name,
                PolicyDocument: JSON.stringify(trust),
              }),
            ),
          )
        }
        return tags ? this.#tag(role, tags) : {}
      }
      case 'create':
        try {
          // Created untagged, then tagged: a caller that may create but not yet tag grant roles
          // (a member account whose StackSet instance is still being updated) still grants.
          await call(`create ${role.arn}`, () =>
            this.#iamOf(role.account).send(
              new CreateRoleCommand({
                RoleName: role.name,
                Path: role.path,
                PermissionsBoundary: step.boundaryArn,
                AssumeRolePolicyDocument: JSON.stringify(step.trust),
                MaxSessionDuration: step.maxSessionSeconds,
                Description: `keyless: Slack user ${role.name}'s grants in this account (created on first use)`,
              }),
            ),
          )
        } catch (error) {
          // Another grant of the same person created it a moment ago: read it again, on retry.
          if ((error as Error).cause instanceof EntityAlreadyExistsException) {
            throw new AccessBackendRetryableError(`${role.arn} was created meanwhile`, { cause: error })
          }
          throw error
        }
        return this.#tag(role, step.tags)
    }
  }

  /** Tags a grant role, reporting rather than throwing a failure: the next grant tries again. */
  async #tag(role: IamPrincipal, tags: Record<string, string>): Promise<GrantRolePrepared> {
    try {
      await this.#iamOf(role.account).send(new TagRoleCommand({ RoleName: role.name, Tags: iamTags(tags) }))
      return {}
    } catch (error) {
      return {
        untagged: `could not tag ${role.arn}: ${error instanceof Error ? error.message : String(error)}`,
      }
    }
  }

  async #readRole(role: IamPrincipal): Promise<GrantRoleFound> {
    try {
      const { Role: found } = await call(`read ${role.arn}`, () =>
        this.#iamOf(role.account).send(new GetRoleCommand({ RoleName: role.name })),
      )
      return {
        exists: true,
        boundaryArn: found?.PermissionsBoundary?.PermissionsBoundaryArn,
        // IAM returns the trust URL-encoded.
        trust: JSON.parse(decodeURIComponent(found?.AssumeRolePolicyDocument ?? '{}')),
        tags: Object.fromEntries((found?.Tags ?? []).map((tag) => [tag.Key, tag.Value])),
      }
    } catch (error) {
      if ((error as Error).cause instanceof NoSuchEntityException) return { exists: false }
      throw error
    }
  }
}

const iamTags = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

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
