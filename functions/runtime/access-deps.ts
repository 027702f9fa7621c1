import { AwsAccessBackend } from '../../shared/adapters/aws/access-backend.ts'
import { accessClientsByAccount } from '../../shared/adapters/aws/access-clients.ts'
import { assemblePlane, type Plane } from '../../shared/core/plane.ts'
import { commonDeps, memoizeSuccess } from './aws-deps.ts'

/**
 * The plane of the workflow's tasks and the reconciler: the common adapters plus IAM and Session
 * Manager, which only these functions load (they alone grant or remove access).
 */
export const awsDeps = memoizeSuccess(async (): Promise<Plane> => {
  const common = await commonDeps()
  return assemblePlane({ ...common, backend: new AwsAccessBackend(accessClientsByAccount(common.config)) })
})
