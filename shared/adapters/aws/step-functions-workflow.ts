import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn'
import type { Grant } from '../../core/grants/grant.ts'
import type { WorkflowSignalName } from '../../core/workflow/errors.ts'
import {
  type ExecutionState,
  probeAttempts,
  startPayload,
  type WaitEvent,
  type Workflow,
} from '../../core/workflow/workflow.ts'

/** Workflow on Step Functions: one Standard execution at a time per grant, named by its id and attempt. */
export class AwsWorkflow implements Workflow {
  readonly #sfn: SFNClient
  readonly #stateMachineArn: string
  readonly #expiryWarningSeconds: number | undefined

  constructor(sfn: SFNClient, stateMachineArn: string, options: { expiryWarningSeconds?: number } = {}) {
    this.#sfn = sfn
    this.#stateMachineArn = stateMachineArn
    this.#expiryWarningSeconds = options.expiryWarningSeconds
  }

  async start(grant: Grant, now: Date): Promise<void> {
    await this.startExecution(grant, grant.id, now)
  }

  async startExecution(grant: Grant, name: string, now: Date): Promise<boolean> {
    try {
      await this.#sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name,
          input: JSON.stringify({ Payload: startPayload(grant, now, this.#expiryWarningSeconds) }),
        }),
      )
      return true
    } catch (error) {
      // A replayed request computes a later timeout, so its input differs: the grant already has its execution.
      if (error instanceof ExecutionAlreadyExists) return false
      throw error
    }
  }

  latestExecution(grantId: string): Promise<ExecutionState | undefined> {
    // An execution's ARN is its state machine's, with `execution` for `stateMachine` and its name appended.
    const executionArn = (name: string) =>
      `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`
    return probeAttempts(grantId, async (name) => {
      try {
        const { status } = await this.#sfn.send(
          new DescribeExecutionCommand({ executionArn: executionArn(name) }),
        )
        // PENDING_REDRIVE: a redrive was asked for and will run it again.
        return status === 'RUNNING' || status === 'PENDING_REDRIVE' ? 'running' : 'ended'
      } catch (error) {
        if (error instanceof ExecutionDoesNotExist) return undefined
        throw error
      }
    })
  }

  async resume(taskToken: string, output: { grantId: string; event?: WaitEvent }): Promise<void> {
    await ignoringSpentTokens(() =>
      this.#sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    )
  }

  async reject(taskToken: string, error: WorkflowSignalName, cause: string): Promise<void> {
    await ignoringSpentTokens(() => this.#sfn.send(new SendTaskFailureCommand({ taskToken, error, cause })))
  }
}

/** A wait that already ended (timed out, or ended by another signal) is not an error for whoever ends it late. */
async function ignoringSpentTokens(send: () => Promise<unknown>): Promise<void> {
  try {
    await send()
  } catch (error) {
    if (error instanceof TaskDoesNotExist || error instanceof TaskTimedOut || error instanceof InvalidToken)
      return
    throw error
  }
}
