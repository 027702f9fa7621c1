import { bindGrantWorkflowTasks, type GrantWorkflowTask } from '../functions/grant-workflow-tasks.ts'
import type { AccessBackend } from '../shared/core/access/backend.ts'
import type { Clock } from '../shared/core/clock.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import type { ControlDeps } from '../shared/core/grants/control.ts'
import type { GrantStore } from '../shared/core/grants/store.ts'
import type { TaskDeps } from '../shared/core/grants/tasks.ts'
import type { Notifier } from '../shared/core/notify/notifier.ts'
import { LocalWorkflow, loadStateMachine } from './workflow.ts'

export interface LocalControlPlaneParts {
  config: KeylessConfig
  store: GrantStore
  backend: AccessBackend
  notifier: Notifier
  clock: Clock
  warn: TaskDeps['warn']
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

export interface LocalControlPlane {
  workflow: LocalWorkflow
  /** What the workflow's tasks receive. */
  tasks: TaskDeps
  /** What Slack and the CLI act through. */
  control: ControlDeps
}

/**
 * The grant workflow wired for this machine: the real grant.asl.json in the local runner, its
 * tasks bound to the real task code, over whatever store, backend and notifier are given.
 */
export async function createLocalControlPlane(parts: LocalControlPlaneParts): Promise<LocalControlPlane> {
  const definition = await loadStateMachine()
  const { retryIntervalMs, intercept, slackBudgetMs, ...shared } = parts
  // The tasks end waits through the workflow that runs them: bind first, then point back.
  const tasks: TaskDeps = { ...shared, workflow: { resume: async () => {}, reject: async () => {} } }
  const bound = Object.entries(bindGrantWorkflowTasks(tasks, slackBudgetMs)).map(([name, run]) => [
    name,
    intercept ? intercept(name as GrantWorkflowTask, run) : run,
  ])
  const workflow = new LocalWorkflow(definition, Object.fromEntries(bound), {
    ...(retryIntervalMs === undefined ? {} : { retryIntervalMs }),
    ...(parts.expiryWarningSeconds === undefined ? {} : { expiryWarningSeconds: parts.expiryWarningSeconds }),
  })
  tasks.workflow = workflow
  return {
    workflow,
    tasks,
    control: { config: parts.config, store: parts.store, workflow, clock: parts.clock, warn: parts.warn },
  }
}
