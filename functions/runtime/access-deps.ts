import { AwsAccessBackend } from '../../shared/adapters/aws/access-backend.ts'
import { createIamClient, ssmClientsByRegion } from '../../shared/adapters/aws/access-clients.ts'
import type { TaskDeps } from '../../shared/core/grants/tasks.ts'
import type { Workflow } from '../../shared/core/workflow/workflow.ts'
import { commonDeps, memoizeSuccess } from './aws-deps.ts'

/** The tasks' dependencies, with the whole workflow (the reconciler also restarts lost executions). */
export type AccessDeps = TaskDeps & { workflow: Workflow }

/**
 * The workflow tasks' and the reconciler's dependencies: the common ones plus IAM and Session
 * Manager, the only functions that grant or remove access.
 */
export const awsDeps = memoizeSuccess(
  async (): Promise<AccessDeps> => ({
    ...(await commonDeps()),
    backend: new AwsAccessBackend(createIamClient(), ssmClientsByRegion()),
  }),
)
