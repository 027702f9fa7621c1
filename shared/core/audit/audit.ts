import { arnPattern } from '../alerts/arn-pattern.ts'
import type { Partition } from '../aws/arn.ts'
import { GRANT_ROLE_PATH } from '../policy/grant-role.ts'
import type { AccountAuthorization, AuditPrincipal } from './authorization.ts'
import { mayAllow, REACH_ACTIONS, type ReachAction } from './reach.ts'

/**
 * The standing-access audit of one account: who can reach a target's instances without a keyless
 * grant. Candidates are picked cheaply (reach.ts); IAM itself judges each candidate through the
 * PolicySimulator (`SimulatePrincipalPolicy` in AWS, so boundaries and SCPs count as AWS counts
 * them; a dev-only stand-in locally): keyless writes no IAM evaluator of its own. A role with
 * reach also gives it to whoever may assume it: one hop of `sts:AssumeRole`, judged the same way
 * with the role's trust as the resource policy.
 */

export interface SimulationRequest {
  principal: AuditPrincipal
  action: string
  resource: string
  /** Condition keys the request carries: the instance's tag, as Session Manager and EC2 name it. */
  context: Record<string, string>
  /** A policy on the resource: a role's trust, for `sts:AssumeRole`. */
  resourcePolicy?: unknown
}

export interface SimulationDecision {
  allowed: boolean
  /** The principal's policies (ids) that allow it. */
  allowedBy: string[]
  /** Why the simulator could not judge: counted as allowed (a hole shown, never one hidden). */
  unjudged?: string
}

export interface PolicySimulator {
  /** IAM's decision on the request. */
  judge(request: SimulationRequest): Promise<SimulationDecision>
}

/** A target's instances in the audited account. */
export interface AuditTarget {
  name: string
  tagKey: string
  tagValue: string
  instances: { instanceId: string; region: string }[]
}

export type FindingKind = 'standing' | 'grant' | 'accepted'

export interface AuditFinding {
  principal: string
  account: string
  target: string
  /** The reach actions IAM allows this principal on the target's instances. */
  actions: string[]
  /** The policies that allow them, or the assume-role chain: `assume <role> → <its policies>`. */
  via: string
  /** `standing` is a hole; `grant` a keyless grant or grant role (expected); `accepted` matches `audit.accepted`. */
  kind: FindingKind
}

/** A finding as it is kept between runs: everything but the policies (which may change without the hole changing). */
export type KeptFinding = Pick<AuditFinding, 'principal' | 'account' | 'target' | 'kind' | 'actions'>

export interface AuditChanges {
  /** Standing findings that were not standing (or reached less) at the last run. */
  opened: KeptFinding[]
  /** Standing findings of the last run that are gone. */
  closed: KeptFinding[]
  /** How many standing findings there are now. */
  standing: number
  /** Accounts that could not be audited this time, with why. */
  unaudited: { account: string; reason: string }[]
  /** The first run: nothing to compare with. */
  first: boolean
  /** Grant roles of people the config no longer places, in every account audited. */
  orphanGrantRoles: string[]
}

export interface AuditChecked {
  account: string
  principals: number
  /** Principals the cheap look picked, for at least one target. */
  candidates: number
  /** Calls to the simulator. */
  simulations: number
  targets: number
  instances: number
  /** Attached managed policies the details did not include: not audited. */
  unknownPolicies: string[]
}

export interface AccountAudit {
  findings: AuditFinding[]
  /**
   * Grant roles (`role/keyless/grant/<Slack user id>`) of people the config no longer places in
   * this account: keyless will never write or remove their policies again — delete them by hand.
   */
  orphanGrantRoles: string[]
  checked: AuditChecked
}

export async function auditAccount(
  input: {
    account: string
    partition: Partition
    authorization: AccountAuthorization
    targets: AuditTarget[]
    accepted: string[]
    /** The Slack user ids whose grant roles the config places in this account. */
    grantRolePeople?: ReadonlySet<string>
  },
  simulator: PolicySimulator,
): Promise<AccountAudit> {
  const { account, partition, authorization, targets } = input
  const accepted = input.accepted.map(arnPattern)
  const isAccepted = (arn: string) => accepted.some((matches) => matches(arn))
  let simulations = 0
  const judge = async (request: SimulationRequest) => {
    simulations += 1
    return simulator.judge(request)
  }
  const candidates = new Set<string>()
  const findings: AuditFinding[] = []
  // The cheap look, once per principal: the reach actions its policies name, and whether any
  // may assume a role.
  const looks = new Map(
    authorization.principals.map((principal) => [
      principal.arn,
      {
        reach: REACH_ACTIONS.filter((reach) =>
          principal.policies.some((policy) => mayAllow(policy.document, reach.action)),
        ),
        mayAssume: principal.policies.some((policy) => mayAllow(policy.document, 'sts:AssumeRole')),
        text: JSON.stringify(principal.policies.map((policy) => policy.document)),
      },
    ]),
  )
  for (const target of targets) {
    if (target.instances.length === 0) continue
    const context = {
      [`ssm:resourceTag/${target.tagKey}`]: target.tagValue,
      [`aws:ResourceTag/${target.tagKey}`]: target.tagValue,
      [`ec2:ResourceTag/${target.tagKey}`]: target.tagValue,
    }
    const direct = new Map<string, AuditFinding>()
    for (const principal of authorization.principals) {
      const look = looks.get(principal.arn)
      const actions = look?.reach ?? []
      if (actions.length === 0) continue
      candidates.add(principal.arn)
      const probes = probeInstances(target, look?.text ?? '')
      const allowed: string[] = []
      const via = new Set<string>()
      const unjudged = new Set<string>()
      for (const reach of actions) {
        for (const instance of reach.resource === 'instance' ? probes : firstPerRegion(target)) {
          const resource = resourceArn(reach, partition, account, instance)
          const decision = await judge({ principal, action: reach.action, resource, context })
          if (decision.unjudged) {
            allowed.push(reach.action)
            for (const policy of principal.policies)
              if (mayAllow(policy.document, reach.action)) via.add(policy.id)
            unjudged.add(decision.unjudged)
            break
          }
          if (!decision.allowed) continue
          allowed.push(reach.action)
          for (const id of decision.allowedBy) via.add(id)
          break
        }
      }
      if (allowed.length === 0) continue
      const grantsOnly =
        unjudged.size === 0 &&
        via.size > 0 &&
        [...via].every((id) => principal.policies.find((policy) => policy.id === id)?.grant ?? false)
      const named = [...via].join(', ') || '(the simulator named no policy)'
      const finding: AuditFinding = {
        principal: principal.arn,
        account,
        target: target.name,
        actions: allowed,
        via: unjudged.size ? `${named} (not judged by the simulator: ${[...unjudged].join('; ')})` : named,
        kind: grantsOnly ? 'grant' : isAccepted(principal.arn) ? 'accepted' : 'standing',
      }
      direct.set(principal.arn, finding)
      findings.push(finding)
    }
    // One hop: whoever may assume a role with reach has it too.
    for (const [roleArn, reached] of direct) {
      const role = authorization.principals.find((principal) => principal.arn === roleArn)
      if (role?.kind !== 'role' || role.trust === undefined) continue
      for (const principal of authorization.principals) {
        if (principal.arn === roleArn || direct.has(principal.arn)) continue
        const named = JSON.stringify(role.trust).includes(`"${principal.arn}"`)
        if (!named && !principal.policies.some((policy) => mayAllow(policy.document, 'sts:AssumeRole')))
          continue
        candidates.add(principal.arn)
        const decision = await judge({
          principal,
          action: 'sts:AssumeRole',
          resource: roleArn,
          context: {},
          resourcePolicy: role.trust,
        })
        if (!decision.allowed) continue
        findings.push({
          principal: principal.arn,
          account,
          target: target.name,
          actions: reached.actions,
          via: `assume ${roleArn} → ${reached.via}`,
          kind: reached.kind === 'grant' ? 'grant' : isAccepted(principal.arn) ? 'accepted' : 'standing',
        })
      }
    }
  }
  const placed = input.grantRolePeople ?? new Set<string>()
  const orphanGrantRoles = authorization.principals
    .filter(
      (principal) =>
        principal.kind === 'role' && principal.path === GRANT_ROLE_PATH && !placed.has(principal.name),
    )
    .map((principal) => principal.arn)
  return {
    findings,
    orphanGrantRoles,
    checked: {
      account,
      principals: authorization.principals.length,
      candidates: candidates.size,
      simulations,
      targets: targets.length,
      instances: targets.reduce((sum, target) => sum + target.instances.length, 0),
      unknownPolicies: authorization.unknownPolicies,
    },
  }
}

/**
 * The instances a candidate is asked about: one per region (a target's instances share its tag,
 * so a policy that does not name instances treats them alike) and every instance its policies
 * name by id (a policy that does may allow some and not others).
 */
function probeInstances(target: AuditTarget, policiesText: string): AuditTarget['instances'] {
  const named = target.instances.filter((instance) => policiesText.includes(instance.instanceId))
  return [...new Set([...firstPerRegion(target), ...named])]
}

function firstPerRegion(target: AuditTarget): AuditTarget['instances'] {
  const byRegion = new Map<string, AuditTarget['instances'][number]>()
  for (const instance of target.instances)
    if (!byRegion.has(instance.region)) byRegion.set(instance.region, instance)
  return [...byRegion.values()]
}

/** What the simulator is asked about for `reach` in the instance's region. */
function resourceArn(
  reach: ReachAction,
  partition: Partition,
  account: string,
  instance: AuditTarget['instances'][number],
): string {
  const region = instance.region
  switch (reach.resource) {
    case 'instance':
      return `arn:${partition}:ec2:${region}:${account}:instance/${instance.instanceId}`
    case 'automation-definition':
      // Any runbook can run commands on an instance: asked about as one the principal did not name.
      return `arn:${partition}:ssm:${region}:${account}:automation-definition/keyless-audit-probe:$DEFAULT`
    case 'instance-connect-endpoint':
      return `arn:${partition}:ec2:${region}:${account}:instance-connect-endpoint/eice-00000000000000000`
    case 'any':
      return '*'
  }
}
