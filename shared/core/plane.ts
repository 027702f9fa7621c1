import type { AccessBackend } from './access/backend.ts'
import type { Clock } from './clock.ts'
import type { KeylessConfig } from './config/schema.ts'
import type { ApproverDirectory, ControlDeps } from './grants/control.ts'
import type { ReconcileDeps } from './grants/reconciler.ts'
import type { GrantStore } from './grants/store.ts'
import type { TaskDeps } from './grants/tasks.ts'
import type { Warn } from './log.ts'
import type { Notifier } from './notify/notifier.ts'
import type { Workflow } from './workflow/workflow.ts'

/** What a control plane is built from: one environment's adapters (AWS, the local stand-ins, a test's). */
export interface PlaneAdapters {
  config: KeylessConfig
  store: GrantStore
  workflow: Workflow
  notifier: Notifier
  clock: Clock
  warn: Warn
  /** Where Slack user groups named as approvers are read (Slack's Web API). */
  directory?: ApproverDirectory
  /** How long before expiry the requester is warned (default five minutes); tests shorten it. */
  expiryWarningSeconds?: number
}

/** The control plane as its three kinds of callers see it. */
export interface Plane {
  /** What Slack, the operator API and the CLI act through: record a change, signal the workflow. */
  control: ControlDeps
  /** What the grant workflow's tasks receive. */
  tasks: TaskDeps
  /** What a reconciler pass receives: the tasks' dependencies, with lost executions restarted. */
  reconcile: ReconcileDeps
}

/** Only what acting on grants needs: for the Slack function and the operator CLI, which never grant access. */
export function assembleControl({
  config,
  store,
  workflow,
  clock,
  warn,
  directory,
}: Pick<PlaneAdapters, 'config' | 'store' | 'workflow' | 'clock' | 'warn' | 'directory'>): ControlDeps {
  return { config, store, workflow, clock, warn, ...(directory ? { directory } : {}) }
}

/**
 * The one way a plane is assembled from its adapters: the Lambda functions (functions/runtime),
 * the local control plane (`npm start`, and through it the test kit, the soak and the bench).
 */
export function assemblePlane(adapters: PlaneAdapters & { backend: AccessBackend }): Plane {
  const { backend, notifier, expiryWarningSeconds } = adapters
  const control = assembleControl(adapters)
  const tasks = {
    ...control,
    backend,
    notifier,
    ...(expiryWarningSeconds === undefined ? {} : { expiryWarningSeconds }),
  } satisfies TaskDeps & ReconcileDeps
  return { control, tasks, reconcile: tasks }
}
