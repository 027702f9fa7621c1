import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * One bound on all the Slack calls of one invocation. A Slack that never answers (a function in
 * a VPC without NAT, a Slack incident) must not hold a task past its timeout: the task's AWS
 * work is done first, and whatever Slack has not answered when the budget runs out is abandoned
 * (the request aborted), and every later call of the invocation fails at once without being
 * sent. The budget is carried by the async context, so the code between the composition root
 * and the Slack client passes nothing along; `createSlackClient` reads it for every request.
 */
export class SlackBudget {
  readonly ms: number
  #signal: AbortSignal | undefined

  constructor(ms: number) {
    this.ms = ms
  }

  /**
   * Aborted when the budget is spent. The clock starts at the invocation's first Slack call, so
   * slow AWS work before it does not eat Slack's share (each has its own bound).
   */
  get signal(): AbortSignal {
    this.#signal ??= AbortSignal.timeout(this.ms)
    return this.#signal
  }

  get spent(): boolean {
    return this.#signal?.aborted ?? false
  }
}

const current = new AsyncLocalStorage<SlackBudget>()

/**
 * The budgets the composition roots give each invocation, well inside each function's timeout
 * (infra/): workflow tasks 60 s, the alert function 30 s, the Slack function's follow-ups 10 s,
 * the reconciler 4 minutes. README "Operating it" states them.
 */
export const SLACK_BUDGET_MS = {
  task: 15_000,
  alert: 10_000,
  followUp: 5_000,
  reconciler: 30_000,
} as const

/** Runs `work` with `ms` milliseconds for all its Slack calls together. */
export function withSlackBudget<T>(ms: number, work: () => Promise<T>): Promise<T> {
  return current.run(new SlackBudget(ms), work)
}

/** The budget of the invocation running now, if it has one. */
export const currentSlackBudget = (): SlackBudget | undefined => current.getStore()

/**
 * A Slack call the budget ended. `sent` says whether its request had gone out: one that had
 * may have been carried out by Slack (a message posted) although no answer came back, so it
 * must not be sent again blindly; one that had not is simply not done.
 */
export class SlackBudgetSpentError extends Error {
  override name = 'SlackBudgetSpent'
  readonly sent: boolean

  constructor(ms: number, sent: boolean) {
    super(
      sent
        ? `Slack did not answer within this invocation's ${ms / 1000} s Slack budget`
        : `not sent: this invocation's ${ms / 1000} s Slack budget is spent`,
    )
    this.sent = sent
  }
}

/** Whether a failed Slack call may still have been carried out: its request went out, no answer came. */
export const mayHaveArrived = (error: unknown): boolean =>
  error instanceof SlackBudgetSpentError && error.sent
