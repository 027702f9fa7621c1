import { AwsAccessBackend } from '../../shared/access/aws-backend.ts'
import { createIamClient, ssmClientsByRegion } from '../../shared/aws/access-clients.ts'
import type { TaskDeps } from '../../shared/grants/tasks.ts'
import { commonDeps } from './aws-deps.ts'

let deps: Promise<TaskDeps> | undefined

/**
 * The workflow tasks' and the reconciler's dependencies: the common ones plus IAM and Session
 * Manager, the only functions that grant or remove access.
 */
export function awsDeps(): Promise<TaskDeps> {
  deps ??= commonDeps().then((built) => ({
    ...built,
    backend: new AwsAccessBackend(createIamClient(), ssmClientsByRegion()),
  }))
  return deps
}
