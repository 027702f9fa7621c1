import { runSimulation } from '@cloud-copilot/iam-simulate'
import type { PolicyDocument } from '../../shared/core/policy/grant-policy.ts'

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied'

export interface SimulatedRequest {
  action: string
  resource: string
  context?: Record<string, string | string[]>
}

/**
 * Runs `policy` as the principal's only identity policy through the IAM policy simulator
 * (@cloud-copilot/iam-simulate, a dev-only test oracle) and returns its decision. A request
 * the simulator cannot evaluate fails the test rather than counting as a denial.
 */
export async function simulate(
  policy: PolicyDocument | PolicyDocument[] | object[],
  request: SimulatedRequest,
  principal = 'arn:aws:iam::111122223333:role/alice-ops',
  /** A permissions boundary on the principal, and a policy on the resource (a role's trust). */
  with_: { boundary?: object; resourcePolicy?: object } = {},
): Promise<Decision> {
  // The resource's own account when its ARN names one: a request across accounts then needs
  // the resource's policy to admit it, as in IAM.
  const account = request.resource.split(':')[4] || principal.split(':')[4] || ''
  const result = await runSimulation(
    {
      identityPolicies: [policy]
        .flat()
        .map((document, index) => ({ name: `policy-${index}`, policy: document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(with_.boundary
        ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: with_.boundary }] }
        : {}),
      ...(with_.resourcePolicy ? { resourcePolicy: with_.resourcePolicy } : {}),
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: account },
        contextVariables: request.context ?? {},
      },
    },
    {},
  )
  if (result.resultType === 'error') {
    throw new Error(
      `the simulator could not evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    )
  }
  return result.overallResult as Decision
}

/** A copy of `policy` without the condition key `key`, for keys the simulator does not know. */
export function withoutConditionKey(policy: PolicyDocument, key: string): PolicyDocument {
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => ({
      ...statement,
      Condition: Object.fromEntries(
        Object.entries(statement.Condition)
          .map(([operator, keys]) => [
            operator,
            Object.fromEntries(Object.entries(keys).filter(([name]) => name !== key)),
          ])
          .filter(([, keys]) => Object.keys(keys as object).length > 0),
      ),
    })),
  }
}
