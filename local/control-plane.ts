import { bindGrantWorkflowTasks, type GrantWorkflowTask } from '../functions/grant-workflow-tasks.ts'
import type { AccessBackend } from '../shared/core/access/backend.ts'
import type { Clock } from '../shared/core/clock.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import type { ApproverDirectory } from '../shared/core/grants/control.ts'
import type { GrantStore } from '../shared/core/grants/store.ts'
import type { TaskDeps } from '../shared/core/grants/tasks.ts'
import type { Notifier } from '../shared/core/notify/notifier.ts'
import { assemblePlane, type Plane } from '../shared/core/plane.ts'
import { LocalWorkflow, loadStateMachine } from './workflow.ts'

export interface LocalControlPlaneParts {
  config: KeylessConfig
  store: GrantStore
  backend: AccessBackend
  notifier: Notifier
  clock: Clock
  warn: TaskDeps['warn']
  /** Where Slack user groups named as approvers are read. */
  directory?: ApproverDirectory
  /** How long before expiry the requester is warned; tests shorten it. */
  expiryWarningSeconds?: number
  /** Each task's budget for its Slack calls (default: a workflow task's in AWS); tests shorten it. */
  slackBudgetMs?: number
  /** Retry backoff in the local runner; undefined keeps the definition's own intervals. */
  retryIntervalMs?: number
  /** Wraps a task's code, for fault injection in tests (a crash after a side effect). */
  intercept?: (
    task: GrantWorkflowTask,
    run: (payload: unknown) => Promise<unknown>,
  ) => (payload: unknown) => Promise<unknown>
}

/** The plane (control, tasks, reconcile: see assemblePlane) and the local runner it runs on. */
export interface LocalControlPlane extends Plane {
  workflow: LocalWorkflow
}

/**
 * The grant workflow wired for this machine: the real grant.asl.json in the local runner, its
 * tasks bound to the real task code, over whatever store, backend and notifier are given.
 */
export async function createLocalControlPlane(parts: LocalControlPlaneParts): Promise<LocalControlPlane> {
  const definition = await loadStateMachine()
  const { retryIntervalMs, intercept, slackBudgetMs, ...adapters } = parts
  // The tasks end waits through the workflow that runs them: the runner is given the tasks bound
  // to the plane, which is assembled (assemblePlane, as in Lambda) once the runner exists.
  let plane: Plane | undefined
  const tasksOfPlane = (): TaskDeps => {
    if (!plane) throw new Error('a task ran before the local control plane was assembled')
    return plane.tasks
  }
  const bound = Object.entries(bindGrantWorkflowTasks(tasksOfPlane, slackBudgetMs)).map(([name, run]) => [
    name,
    intercept ? intercept(name as GrantWorkflowTask, run) : run,
  ])
  const workflow = new LocalWorkflow(definition, Object.fromEntries(bound), {
    ...(retryIntervalMs === undefined ? {} : { retryIntervalMs }),
    ...(parts.expiryWarningSeconds === undefined ? {} : { expiryWarningSeconds: parts.expiryWarningSeconds }),
  })
  plane = assemblePlane({ ...adapters, workflow })
  return { ...plane, workflow }
}
