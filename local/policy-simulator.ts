import type { PolicySimulator, SimulationDecision, SimulationRequest } from '../shared/core/audit/audit.ts'
import { mayAllow } from '../shared/core/audit/reach.ts'
import { KeylessError } from '../shared/core/errors.ts'

type Simulate = typeof import('@cloud-copilot/iam-simulate').runSimulation

/**
 * The local stand-in for IAM's policy simulator, as `npm start` stands dynalite in for DynamoDB:
 * @cloud-copilot/iam-simulate, the dev-only oracle the tests already use (never bundled into a
 * function). It judges the principal's identity policies with its boundary (and a role's trust as
 * the resource policy); the policies that allow a request are those that allow it on their own.
 * It knows no SCPs: `keyless audit` against AWS asks IAM itself. A request it cannot evaluate is
 * answered as not judged (the audit then shows it as a hole): so is every
 * `ec2-instance-connect:OpenTunnel`, whose resource type its data lists twice.
 */
export class LocalPolicySimulator implements PolicySimulator {
  readonly #simulate: Simulate

  private constructor(simulate: Simulate) {
    this.#simulate = simulate
  }

  static async create(): Promise<LocalPolicySimulator> {
    try {
      const { runSimulation } = await import('@cloud-copilot/iam-simulate')
      return new LocalPolicySimulator(runSimulation)
    } catch {
      throw new KeylessError(
        'SIMULATOR_MISSING',
        'the local policy simulator (@cloud-copilot/iam-simulate, a development dependency) is not installed: run npm install in a keyless checkout, or audit a deployed account without --authorization-details',
      )
    }
  }

  async judge(request: SimulationRequest): Promise<SimulationDecision> {
    const all = await this.#run(request, request.principal.policies)
    if ('unjudged' in all) return { allowed: false, allowedBy: [], unjudged: all.unjudged }
    if (!all.allowed) return { allowed: false, allowedBy: [] }
    const allowedBy: string[] = []
    for (const policy of request.principal.policies) {
      if (!mayAllow(policy.document, request.action)) continue
      const alone = await this.#run(request, [policy])
      if ('allowed' in alone && alone.allowed) allowedBy.push(policy.id)
    }
    return { allowed: true, allowedBy }
  }

  async #run(
    request: SimulationRequest,
    policies: SimulationRequest['principal']['policies'],
  ): Promise<{ allowed: boolean } | { unjudged: string }> {
    const { principal, action, resource, context, resourcePolicy } = request
    const boundary = principal.boundary
    const result = await this.#simulate(
      {
        identityPolicies: policies.map((policy) => ({ name: policy.id, policy: policy.document as object })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(boundary
          ? { permissionBoundaryPolicies: [{ name: boundary.id, policy: boundary.document as object }] }
          : {}),
        ...(resourcePolicy ? { resourcePolicy: resourcePolicy as object } : {}),
        request: {
          principal: principal.arn,
          action,
          resource: { resource, accountId: resource.split(':')[4] || principal.arn.split(':')[4] || '' },
          contextVariables: context,
        },
      },
      {},
    )
    if (result.resultType === 'error') return { unjudged: summarize(result.errors) }
    return { allowed: result.overallResult === 'Allowed' }
  }
}

/** The simulator's errors in a few words: their messages (`multiple.resource.types`). */
function summarize(errors: unknown): string {
  const list = Array.isArray(errors) ? errors : [errors]
  const text = list
    .map((error) =>
      typeof error === 'object' && error !== null && 'message' in error
        ? String(error.message)
        : JSON.stringify(error),
    )
    .join('; ')
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
