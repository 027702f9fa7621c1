import {
  type IAMClient,
  paginateGetAccountAuthorizationDetails,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam'
import type { PolicySimulator, SimulationDecision, SimulationRequest } from '../../core/audit/audit.ts'
import type { AuthorizationDetails } from '../../core/audit/authorization.ts'

/**
 * IAM's own policy simulator: `SimulatePrincipalPolicy` weighs the principal's identity policies,
 * its boundary and the organization's SCPs as AWS does. The policies that allowed a request are
 * the statements it matched, mapped back to the audit's policy ids (a managed policy by its ARN
 * or name, an inline one by its name).
 */
export class AwsPolicySimulator implements PolicySimulator {
  readonly #iam: IAMClient

  constructor(iam: IAMClient) {
    this.#iam = iam
  }

  async judge(request: SimulationRequest): Promise<SimulationDecision> {
    const { EvaluationResults } = await this.#iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: request.principal.arn,
        ActionNames: [request.action],
        ResourceArns: [request.resource],
        ContextEntries: Object.entries(request.context).map(([name, value]) => ({
          ContextKeyName: name,
          ContextKeyValues: [value],
          ContextKeyType: 'string',
        })),
        ...(request.resourcePolicy ? { ResourcePolicy: JSON.stringify(request.resourcePolicy) } : {}),
      }),
    )
    const result = EvaluationResults?.[0]
    if (result?.EvalDecision !== 'allowed') return { allowed: false, allowedBy: [] }
    const matched = (result.MatchedStatements ?? []).flatMap((statement) => statement.SourcePolicyId ?? [])
    const allowedBy = request.principal.policies
      .filter((policy) =>
        matched.some(
          (id) => policy.id === id || policy.id.endsWith(`/${id}`) || policy.id.endsWith(`:policy/${id}`),
        ),
      )
      .map((policy) => policy.id)
    return { allowed: true, allowedBy }
  }
}

/** Every page of `GetAccountAuthorizationDetails`, as one answer. */
export async function accountAuthorizationDetails(iam: IAMClient): Promise<AuthorizationDetails> {
  const details: AuthorizationDetails = {
    UserDetailList: [],
    GroupDetailList: [],
    RoleDetailList: [],
    Policies: [],
  }
  for await (const page of paginateGetAccountAuthorizationDetails({ client: iam }, {})) {
    details.UserDetailList.push(...((page.UserDetailList ?? []) as AuthorizationDetails['UserDetailList']))
    details.GroupDetailList.push(...((page.GroupDetailList ?? []) as AuthorizationDetails['GroupDetailList']))
    details.RoleDetailList.push(...((page.RoleDetailList ?? []) as AuthorizationDetails['RoleDetailList']))
    details.Policies.push(...((page.Policies ?? []) as AuthorizationDetails['Policies']))
  }
  return details
}
