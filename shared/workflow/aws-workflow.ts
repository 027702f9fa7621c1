import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn'
import type { Grant } from '../grants/grant.ts'
import { startPayload, type WaitEvent, type Workflow, type WorkflowErrorName } from './workflow.ts'

/** Workflow on Step Functions: one Standard execution per grant, named by its id. */
export class AwsWorkflow implements Workflow {
  readonly #sfn: SFNClient
  readonly #stateMachineArn: string

  constructor(sfn: SFNClient, stateMachineArn: string) {
    this.#sfn = sfn
    this.#stateMachineArn = stateMachineArn
  }

  async start(grant: Grant, now: Date): Promise<void> {
    try {
      await this.#sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: grant.id,
          input: JSON.stringify({ Payload: startPayload(grant, now) }),
        }),
      )
    } catch (error) {
      // A replayed request computes a later timeout, so its input differs: the grant already has its execution.
      if (!(error instanceof ExecutionAlreadyExists)) throw error
    }
  }

  async resume(taskToken: string, output: { grantId: string; event?: WaitEvent }): Promise<void> {
    await ignoringSpentTokens(() =>
      this.#sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    )
  }

  async reject(taskToken: string, error: WorkflowErrorName, cause: string): Promise<void> {
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
