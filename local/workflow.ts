import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions'
import type { Grant } from '../shared/core/grants/grant.ts'
import type { WorkflowSignalName } from '../shared/core/workflow/errors.ts'
import {
  type ExecutionState,
  probeAttempts,
  startPayload,
  type WaitEvent,
  type Workflow,
  WorkflowSignal,
} from '../shared/core/workflow/workflow.ts'

export const GRANT_STATE_MACHINE = new URL('../statemachines/grant.asl.json', import.meta.url)

export async function loadStateMachine(file: URL = GRANT_STATE_MACHINE): Promise<StateMachineDefinition> {
  return JSON.parse(await readFile(file, 'utf8')) as StateMachineDefinition
}

/** The task code each `${…FunctionArn}` definition substitution names, as a local function of its Payload. */
export type TaskBindings = Record<string, (payload: unknown) => Promise<unknown>>

export interface ExecutionRecord {
  grantId: string
  /** Until its run and its event log are done. */
  running: boolean
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
  /** Every execution this runner started, by name (`<grant id>`, `<grant id>-2`, …). */
  readonly executions = new Map<string, ExecutionRecord>()
  readonly #machine: StateMachine
  readonly #definition: StateMachineDefinition
  readonly #bindings: TaskBindings
  /** The same backoff for every state's retries, fixed once; undefined keeps the definition's own. */
  readonly #retryIntervalOverrides: Record<string, number> | undefined
  readonly #expiryWarningSeconds: number | undefined
  readonly #waiters = new Map<string, Waiter>()
  /** How to stop each running execution, by name. */
  readonly #aborts = new Map<string, () => void>()
  /** Task code running now: a stop waits for it, as Lambda lets an invocation finish. */
  readonly #running = new Set<Promise<unknown>>()
  #stopped = false
  /** Executions stopped one by one (stopExecution): they end ABORTED, not FAILED. */
  readonly #stopping = new Set<string>()
  #tokens = 0
  readonly #runnerId = randomUUID().slice(0, 8)

  constructor(
    definition: StateMachineDefinition,
    bindings: TaskBindings,
    options: { retryIntervalMs?: number; expiryWarningSeconds?: number } = {},
  ) {
    this.#definition = definition
    this.#expiryWarningSeconds = options.expiryWarningSeconds
    this.#machine = validatedOnce(definition)
    this.#bindings = bindings
    const { retryIntervalMs } = options
    this.#retryIntervalOverrides =
      retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(Object.keys(definition.States).map((name) => [name, retryIntervalMs]))
  }

  async start(grant: Grant, now: Date): Promise<void> {
    await this.startExecution(grant, grant.id, now)
  }

  async latestExecution(grantId: string): Promise<ExecutionState | undefined> {
    return probeAttempts(grantId, async (name) => {
      const record = this.executions.get(name)
      return record && (record.running ? 'running' : 'ended')
    })
  }

  async startExecution(grant: Grant, name: string, now: Date): Promise<boolean> {
    if (this.executions.has(name)) return false // names are unique, as in AWS: a second start is a no-op
    if (this.#stopped) throw new Error('the local workflow runner is stopped')
    const payload = startPayload(grant, now, this.#expiryWarningSeconds)
    const record: ExecutionRecord = {
      grantId: grant.id,
      running: true,
      states: [],
      invocations: {},
      done: Promise.resolve({ status: 'SUCCEEDED' }),
    }
    const execution = this.#machine.run(
      { Payload: { ...payload } },
      {
        overrides: {
          taskResourceLocalHandlers: this.#handlersFor(name, record),
          ...(this.#retryIntervalOverrides ? { retryIntervalOverrides: this.#retryIntervalOverrides } : {}),
        },
        context: { Execution: { Name: name, StartTime: now.toISOString() }, Task: { Token: name } },
      },
    )
    this.#aborts.set(name, execution.abort)
    const outcome = execution.result.then(
      () => ({ status: 'SUCCEEDED' as const }),
      (error: Error) =>
        this.#stopped || this.#stopping.has(name)
          ? { status: 'ABORTED' as const, error: error.message }
          : { status: 'FAILED' as const, error: error.message },
    )
    void outcome.finally(() => this.#aborts.delete(name))
    // The event log is read alongside; the record is done once both the run and its log are.
    const logged = collectStates(execution.eventLogs, record.states)
    record.done = Promise.all([outcome, logged]).then(([result]) => {
      record.running = false
      return result
    })
    this.executions.set(name, record)
    return true
  }

  /**
   * Stops every execution where it is: task code already running finishes (as a Lambda
   * invocation would), nothing more starts, and no timer of the runner keeps the process alive.
   * What the grants owe is in the store: the next start resumes every live grant's execution.
   */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const abort of this.#aborts.values()) abort()
    this.#settleWaits(() => true, 'the local control plane stopped')
    await Promise.all([...this.executions.values()].map((execution) => execution.done))
    await Promise.allSettled([...this.#running])
  }

  /**
   * Stops one execution where it is, as StopExecution does in AWS (an operator's click, or a
   * lost execution in a test): its wait ends, and signals to it are ignored from then on.
   */
  async stopExecution(name: string): Promise<void> {
    this.#stopping.add(name)
    this.#aborts.get(name)?.()
    this.#settleWaits((token) => token.startsWith(`${name}:`), `execution ${name} was stopped`)
    await this.executions.get(name)?.done
  }

  /** A task's timeout timer is cleared only when the task settles: settle the waits that end. */
  #settleWaits(ending: (token: string) => boolean, why: string): void {
    for (const [token, waiter] of this.#waiters) {
      if (!ending(token)) continue
      this.#waiters.delete(token)
      waiter.reject(new Error(why))
    }
  }

  async resume(taskToken: string, output: { grantId: string; event?: WaitEvent }): Promise<void> {
    const waiter = this.#waiters.get(taskToken)
    this.#waiters.delete(taskToken)
    waiter?.resolve(output) // a token nobody waits on any more is ignored, as AWS does
  }

  async reject(taskToken: string, error: WorkflowSignalName, cause: string): Promise<void> {
    const waiter = this.#waiters.get(taskToken)
    this.#waiters.delete(taskToken)
    waiter?.reject(new WorkflowSignal(error, cause))
  }

  #handlersFor(executionName: string, record: ExecutionRecord): LocalHandlers {
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
            // The runner's own id keeps tokens unique across restarts of the local plane.
            const taskToken = `${executionName}:${this.#runnerId}:${++this.#tokens}`
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

/** The definitions already validated in this process, by their text. */
const validated = new Set<string>()

/**
 * The runner's machine for `definition`, validated (asl-validator, ARNs and paths checked) the
 * first time this process runs it: validation compiles JSON schemas and costs a few hundred
 * milliseconds, and a restarted plane, or a test's tenth plane, runs the very same definition.
 */
function validatedOnce(definition: StateMachineDefinition): StateMachine {
  const text = JSON.stringify(definition)
  const machine = new StateMachine(definition, {
    validationOptions: validated.has(text) ? { noValidate: true } : { checkArn: true, checkPaths: true },
  })
  validated.add(text) // only once it passed
  return machine
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
