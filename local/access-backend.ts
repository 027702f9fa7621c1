import {
  type AccessBackend,
  AccessBackendError,
  AccessBackendRetryableError,
  type ActiveSession,
  GRANT_POLICY_PREFIX,
  type GrantRolePrepared,
  type TargetInstance,
  type TargetInstances,
} from '../shared/core/access/backend.ts'
import { type GrantRoleWanted, grantRoleStep } from '../shared/core/access/grant-role-steps.ts'
import type { InstanceInventory } from '../shared/core/alerts/inventory.ts'
import type { IamPrincipal } from '../shared/core/aws/arn.ts'
import type { PolicyDocument } from '../shared/core/policy/grant-policy.ts'

export interface LocalInstance {
  /** Its account; absent in a one-account plane, where every instance is the home account's. */
  account?: string
  instanceId: string
  region: string
  tags: Record<string, string>
}

type Operation = keyof AccessBackend
type Fault = { kind: 'throttle'; times: number } | { kind: 'fail'; message: string }

/**
 * The local stand-in for IAM, Session Manager and EC2's tags that `npm start` and the tests
 * use: it keeps the policies attached to each principal, the grant roles it created, the sessions open on each instance
 * and the instances' tags (the alert function's inventory), and can be told to throttle or
 * fail an operation, the way AWS does under load or misconfiguration.
 */
export class LocalAccessBackend implements AccessBackend, InstanceInventory {
  /** principal ARN → policy name → document */
  readonly policies = new Map<string, Map<string, PolicyDocument>>()
  readonly sessions: (ActiveSession & { state: 'Active' | 'Terminated' })[] = []
  readonly instances: LocalInstance[]
  /** Grant roles by ARN, as IAM would keep them: their boundary, trust and tags. */
  readonly grantRoles = new Map<
    string,
    { boundaryArn: string | undefined; trust: unknown; tags: Record<string, string> }
  >()
  readonly calls: Operation[] = []
  readonly #faults = new Map<Operation, Fault>()

  constructor(instances: LocalInstance[] = []) {
    this.instances = instances
  }

  /** The next `times` calls of `operation` are throttled (retryable); then it works again. */
  throttle(operation: Operation, times: number): void {
    this.#faults.set(operation, { kind: 'throttle', times })
  }

  /** Every call of `operation` fails for good (access denied, a quota reached). */
  breakOperation(operation: Operation, message: string): void {
    this.#faults.set(operation, { kind: 'fail', message })
  }

  /** A session `principal` opened on `instanceId` (what StartSession would record). */
  openSession(principal: string, instanceId: string): ActiveSession {
    const instance = this.instances.find((candidate) => candidate.instanceId === instanceId)
    if (!instance) throw new Error(`no local instance ${instanceId}`)
    const session = {
      account: instance.account ?? principal.split(':')[4] ?? '',
      sessionId: `${principal.split('/').at(-1)}-${(this.sessions.length + 1).toString(16).padStart(17, '0')}`,
      region: instance.region,
      target: instanceId,
      owner: principal,
      state: 'Active' as const,
    }
    this.sessions.push(session)
    return session
  }

  policyOf(principal: string, policyName: string): PolicyDocument | undefined {
    return this.policies.get(principal)?.get(policyName)
  }

  async attachPolicy(principal: IamPrincipal, policyName: string, policy: PolicyDocument): Promise<void> {
    this.#enter('attachPolicy')
    const attached = this.policies.get(principal.arn) ?? new Map<string, PolicyDocument>()
    attached.set(policyName, structuredClone(policy))
    this.policies.set(principal.arn, attached)
  }

  async detachPolicy(principal: IamPrincipal, policyName: string): Promise<void> {
    this.#enter('detachPolicy')
    this.policies.get(principal.arn)?.delete(policyName)
  }

  async listGrantPolicies(principal: IamPrincipal): Promise<string[]> {
    this.#enter('listGrantPolicies')
    return [...(this.policies.get(principal.arn)?.keys() ?? [])].filter((name) =>
      name.startsWith(GRANT_POLICY_PREFIX),
    )
  }

  async listInstances(target: TargetInstances): Promise<TargetInstance[]> {
    return this.#tagged(target).map(({ instanceId, region }) => ({ instanceId, region }))
  }

  async listActiveSessions(principal: IamPrincipal, target: TargetInstances): Promise<ActiveSession[]> {
    this.#enter('listActiveSessions')
    const tagged = new Set(this.#tagged(target).map((instance) => instance.instanceId))
    return this.sessions
      .filter(
        (session) =>
          session.state === 'Active' && session.owner === principal.arn && tagged.has(session.target),
      )
      .map(({ account, sessionId, region, target: instance, owner }) => ({
        account,
        sessionId,
        region,
        target: instance,
        owner,
      }))
  }

  async terminateSession(session: ActiveSession): Promise<void> {
    this.#enter('terminateSession')
    for (const open of this.sessions) if (open.sessionId === session.sessionId) open.state = 'Terminated'
  }

  async prepareGrantRole(wanted: GrantRoleWanted): Promise<GrantRolePrepared> {
    this.#enter('prepareGrantRole')
    const role = this.grantRoles.get(wanted.roleArn)
    const step = grantRoleStep(wanted, role ? { exists: true, ...role } : { exists: false })
    if (step.kind === 'refuse') throw new AccessBackendError(step.reason)
    if (step.kind === 'create') {
      this.grantRoles.set(wanted.roleArn, {
        boundaryArn: step.boundaryArn,
        trust: structuredClone(step.trust),
        tags: { ...step.tags },
      })
    }
    if (step.kind === 'update' && role) {
      if (step.trust) role.trust = structuredClone(step.trust)
      if (step.tags) Object.assign(role.tags, step.tags)
    }
    return {}
  }

  async tagValues(
    account: string,
    region: string,
    tagKey: string,
    instanceIds: readonly string[],
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>()
    for (const instance of this.instances) {
      const value = instance.tags[tagKey]
      if (
        (instance.account ?? account) === account &&
        instance.region === region &&
        value !== undefined &&
        instanceIds.includes(instance.instanceId)
      ) {
        found.set(instance.instanceId, value)
      }
    }
    return found
  }

  #tagged(target: TargetInstances): LocalInstance[] {
    return this.instances.filter(
      (instance) =>
        (instance.account ?? target.account) === target.account &&
        target.regions.includes(instance.region) &&
        instance.tags[target.tagKey] === target.tagValue,
    )
  }

  #enter(operation: Operation): void {
    this.calls.push(operation)
    const fault = this.#faults.get(operation)
    if (!fault) return
    if (fault.kind === 'fail') throw new AccessBackendError(fault.message)
    if (fault.times <= 1) this.#faults.delete(operation)
    else fault.times -= 1
    throw new AccessBackendRetryableError(`${operation} was throttled (local fault injection)`)
  }
}
