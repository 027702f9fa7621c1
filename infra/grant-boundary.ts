import { Validations } from 'aws-cdk-lib'
import { CfnManagedPolicy } from 'aws-cdk-lib/aws-iam'
import type { Construct } from 'constructs'
import { GRANT_BOUNDARY_NAME, grantBoundaryPolicy } from '../shared/core/policy/grant-role.ts'
import { KEYLESS_ROLE_PATH } from './permissions.ts'

/**
 * The keyless grant boundary of an account (`policy/keyless/keyless-grant-boundary`): the
 * simulator-proven document rendered unchanged (L1), so nothing adds to it on the way. Every
 * grant role carries it, and keyless writes no grant role without it.
 */
export function grantBoundary(scope: Construct, id: string): CfnManagedPolicy {
  const boundary = new CfnManagedPolicy(scope, id, {
    managedPolicyName: GRANT_BOUNDARY_NAME,
    path: KEYLESS_ROLE_PATH,
    description: 'keyless: all a grant role can ever do (its permissions boundary)',
    policyDocument: grantBoundaryPolicy(),
  })
  Validations.of(boundary).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "A permissions boundary caps, it grants nothing: the grant actions on any resource, narrowed by each grant's own policy to its target's tagged instances and window.",
  })
  return boundary
}
