import { readFile } from 'node:fs/promises'
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions'
import type { Grant } from '../shared/grants/grant.ts'
import {
  startPayload,
  type WaitEvent,
  type Workflow,
  type WorkflowErrorName,
  WorkflowSignal,
} from '../shared/workflow/workflow.ts'

export const GRANT_STATE_MACHINE = new URL('../statemachines/grant.asl.json', import.meta.url)

export async function loadStateMachine(file: URL = GRANT_STATE_MACHINE): Promise<StateMachineDefinition> {
  return JSON.parse(await readFile(file, 'utf8')) as StateMachineDefinition
}

/** The task code each `${…FunctionArn}` definition substitution names, as a local function of its Payload. */
export type TaskBindings = Record<string, (payload: unknown) => Promise<unknown>>

export interface ExecutionRecord {
  grantId: string
  /** Every state entered, in order: Step Functions bills and counts these as state transitions. */
  states: string[]
  /** How many times task code ran (Lambda invocations in AWS), by substitution name. */
  invocations: Record<string, number>
  done: Promise<{ status: 'SUCCEEDED' | 'FAILED' | 'ABORTED'; error?: string }>
}

interface Waiter {
  resolve: (output: unknown) => void
  reject: (error: Error) => void
}

/**
 * Runs the very grant.asl.json CDK deploys with aws-local-stepfunctions, each Task bound to
 * the real task code. `.waitForTaskToken` tasks wait for `resume`/`reject` with a token of
 * their own, as in AWS; other tasks return their result under `Payload`, as Lambda's invoke
 * integration does, so the definition's paths read the same here and there.
 */
export class LocalWorkflow implements Workflow {
  readonly executions = new Map<string, ExecutionRecord>()
  readonly #machine: StateMachine
  readonly #definition: StateMachineDefinition
  readonly #bindings: TaskBindings
  /** The same backoff for every state's retries, fixed once; undefined keeps the definition's own. */
  readonly #retryIntervalOverrides: Record<string, number> | undefined
  readonly #waiters = new Map<string, Waiter>()
  readonly #aborts = new Set<() => void>()
  /** Task code running now: a stop waits for it, as Lambda lets an invocation finish. */
  readonly #running = new Set<Promise<unknown>>()
  #stopped = false
  #tokens = 0

  constructor(
    definition: StateMachineDefinition,
    bindings: TaskBindings,
    options: { retryIntervalMs?: number } = {},
  ) {
    this.#definition = definition
    this.#machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } })
    this.#bindings = bindings
    const { retryIntervalMs } = options
    this.#retryIntervalOverrides =
      retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(Object.keys(definition.States).map((name) => [name, retryIntervalMs]))
  }

  async start(grant: Grant, now: Date): Promise<void> {
    if (this.executions.has(grant.id)) return // the execution name is the grant id: a second start is a no-op
    if (this.#stopped) throw new Error('the local workflow runner is stopped')
    const record: ExecutionRecord = {
      grantId: grant.id,
      states: [],
      invocations: {},
      done: Promise.resolve({ status: 'SUCCEEDED' }),
    }
    const execution = this.#machine.run(
      { Payload: { ...startPayload(grant, now) } },
      {
        overrides: {
          taskResourceLocalHandlers: this.#handlersFor(grant.id, record),
          ...(this.#retryIntervalOverrides ? { retryIntervalOverrides: this.#retryIntervalOverrides } : {}),
        },
        context: { Execution: { Name: grant.id, StartTime: now.toISOString() }, Task: { Token: grant.id } },
      },
    )
    this.#aborts.add(execution.abort)
    const outcome = execution.result.then(
      () => ({ status: 'SUCCEEDED' as const }),
      (error: Error) =>
        this.#stopped
          ? { status: 'ABORTED' as const, error: error.message }
          : { status: 'FAILED' as const, error: error.message },
    )
    void outcome.finally(() => this.#aborts.delete(execution.abort))
    // The event log is read alongside; the record is done once both the run and its log are.
    const logged = collectStates(execution.eventLogs, record.states)
    record.done = Promise.all([outcome, logged]).then(([result]) => result)
    this.executions.set(grant.id, record)
  }

  /**
   * Stops every execution where it is: task code already running finishes (as a Lambda
   * invocation would), nothing more starts, and no timer of the runner keeps the process alive. What the grants owe is picked up again from
   * the store on the next start (the reconciler ends what was left).
   */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const abort of this.#aborts) abort()
    // A task's timeout timer is cleared only when the task settles: settle every wait.
    for (const waiter of this.#waiters.values()) waiter.reject(new Error('the local control plane stopped'))
    this.#waiters.clear()
    await Promise.all([...this.executions.values()].map((execution) => execution.done))
    await Promise.allSettled([...this.#running])
  }

  async resume(taskToken: string, output: { grantId: string; event?: WaitEvent }): Promise<void> {
    const waiter = this.#waiters.get(taskToken)
    this.#waiters.delete(taskToken)
    waiter?.resolve(output) // a token nobody waits on any more is ignored, as AWS does
  }

  async reject(taskToken: string, error: WorkflowErrorName, cause: string): Promise<void> {
    const waiter = this.#waiters.get(taskToken)
    this.#waiters.delete(taskToken)
    waiter?.reject(new WorkflowSignal(error, cause))
  }

  #handlersFor(grantId: string, record: ExecutionRecord): LocalHandlers {
    const handlers: LocalHandlers = {}
    for (const [stateName, state] of Object.entries(this.#definition.States)) {
      if (state.Type !== 'Task') continue
      const { Resource: resource, Parameters: parameters } = state as {
        Resource: string
        Parameters?: { FunctionName?: string }
      }
      const name = /^\$\{(\w+)\}$/.exec(parameters?.FunctionName ?? '')?.[1]
      const binding = name ? this.#bindings[name] : undefined
      if (!name || !binding)
        throw new Error(`state "${stateName}" has no local binding for ${parameters?.FunctionName}`)
      const invoke = (payload: unknown) => {
        record.invocations[name] = (record.invocations[name] ?? 0) + 1
        const running = binding(payload)
        this.#running.add(running)
        void running.then(
          () => this.#running.delete(running),
          () => this.#running.delete(running),
        )
        return running
      }
      handlers[stateName] = resource.endsWith('.waitForTaskToken')
        ? async (input) => {
            // Each wait gets a token of its own, as in AWS, so a late signal cannot end a later wait.
            const taskToken = `${grantId}:${++this.#tokens}`
            const waited = new Promise<unknown>((resolve, reject) =>
              this.#waiters.set(taskToken, { resolve, reject }),
            )
            // A decision may end the wait while the task is still running (asking approvers
            // takes Slack calls); it is awaited below, so an early end is not unhandled.
            waited.catch(() => {})
            try {
              await invoke({ ...payloadOf(input), taskToken })
            } catch (error) {
              this.#waiters.delete(taskToken)
              throw error
            }
            return (await waited) as JsonValue
          }
        : async (input) => ({
            Payload: ((await invoke(payloadOf(input))) ?? null) as JsonValue,
            StatusCode: 200,
          })
    }
    return handlers
  }
}

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>
type JsonValue = Parameters<LocalHandlers[string]>[0]

/** A task's Parameters always carry the function's input under Payload (lambda:invoke's shape). */
function payloadOf(input: JsonValue): Record<string, unknown> {
  const payload = (input as { Payload?: unknown } | null)?.Payload
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {}
}

type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never

async function collectStates(events: AsyncGenerator<EventLog>, states: string[]): Promise<void> {
  for await (const event of events)
    if (event.type === 'StateEntered' && 'state' in event) states.push(event.state.name)
}
