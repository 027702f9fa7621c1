import type { IamPrincipal } from '../aws/arn.ts'
import { KeylessError } from '../errors.ts'
import type { PolicyDocument } from '../policy/grant-policy.ts'
import { WORKFLOW_ERRORS } from '../workflow/errors.ts'
import type { GrantRoleWanted } from './grant-role-steps.ts'

/** Every policy keyless attaches is named for its grant: one policy per grant, never shared. */
export const GRANT_POLICY_PREFIX = 'keyless-'
export const grantPolicyName = (grantId: string): string => `${GRANT_POLICY_PREFIX}${grantId}`
export const grantIdOfPolicy = (policyName: string): string | undefined =>
  policyName.startsWith(GRANT_POLICY_PREFIX) ? policyName.slice(GRANT_POLICY_PREFIX.length) : undefined

export interface ActiveSession {
  /** The account the session is in (the target's). */
  account: string
  sessionId: string
  region: string
  /** The instance the session is open on. */
  target: string
  owner: string
}

/** The instances of one target: those whose `tagKey` tag equals `tagValue`, in `regions` of `account`. */
export interface TargetInstances {
  account: string
  tagKey: string
  tagValue: string
  regions: string[]
}

export interface TargetInstance {
  instanceId: string
  region: string
}

/**
 * The IAM and Session Manager side of a grant, as the workflow needs it. Every method is
 * idempotent: attaching again overwrites, detaching a missing policy and terminating an ended
 * session succeed.
 */
export interface AccessBackend {
  attachPolicy(principal: IamPrincipal, policyName: string, policy: PolicyDocument): Promise<void>
  detachPolicy(principal: IamPrincipal, policyName: string): Promise<void>
  /** The names of the `keyless-*` inline policies on `principal`. */
  listGrantPolicies(principal: IamPrincipal): Promise<string[]>
  /** The target's instances Session Manager manages (what a grant can reach), in every region given. */
  listInstances(instances: TargetInstances): Promise<TargetInstance[]>
  /** Active sessions `principal` has open on the target's instances. */
  listActiveSessions(principal: IamPrincipal, instances: TargetInstances): Promise<ActiveSession[]>
  terminateSession(session: ActiveSession): Promise<void>
  /**
   * Makes a person's grant role what `wanted` says before a grant goes on it: creates it on
   * first use, replaces a trust the config has changed, and refuses (AccessBackendError, with the
   * reason) a role whose boundary is not the keyless grant boundary (`grantRoleStep`). Tagging
   * it comes last and never fails it: the tag is for people, and a grant does not wait on it.
   */
  prepareGrantRole(wanted: GrantRoleWanted): Promise<GrantRolePrepared>
}

/** A grant role made ready, and, when its tags could not be set, why (a grant goes on regardless). */
export interface GrantRolePrepared {
  untagged?: string
}

/**
 * A failure worth retrying (throttling, a 5xx): the workflow retries it with backoff. Its name
 * is what the state machine's Retry matches on, in AWS and in the local runner alike.
 */
export class AccessBackendRetryableError extends Error {
  override name = WORKFLOW_ERRORS.accessBackendRetryable
}

/** A failure retrying will not fix (access denied, a quota reached), with a reason an operator can act on. */
export class AccessBackendError extends KeylessError {
  override name = 'AccessBackendFailed'

  constructor(message: string) {
    super('ACCESS_BACKEND_FAILED', message)
  }
}
