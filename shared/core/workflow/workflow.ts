import { addSeconds, isoSeconds } from '../clock.ts'
import type { Grant } from '../grants/grant.ts'
import type { WorkflowSignalName } from './errors.ts'

/**
 * The grant's workflow as the rest of keyless sees it: one execution at a time per grant, and
 * the callbacks that end its waits. `grant.asl.json` owns time and retries.
 *
 * An execution can be started for a grant in any live state and carries on from where the
 * grant stands, so a lost execution (a restarted local plane, an execution stopped by hand or
 * failed in AWS) is replaced, not repaired around. Attempts are named `<grant id>`,
 * `<grant id>-2`, `<grant id>-3`…: the next name is a function of the ones that exist, so two
 * restarters racing start the same name and Step Functions keeps one.
 */

/**
 * The execution's data. It travels under `Payload`, the field Lambda's invoke integration
 * uses, so `TimeoutSecondsPath: $.Payload.timeoutSeconds` reads the same value from the state
 * input (AWS) and from the task's Parameters (the local runner).
 */
export interface WorkflowPayload {
  grantId: string
  /** How long the next wait may last: until the approval deadline, or until expiry. */
  timeoutSeconds: number
  /** Where an execution starts (its first Choice): from where the grant stands. */
  stage?: WorkflowStage
  /** Approval wait: true while it ends halfway, for the reminder, rather than at the deadline. */
  remind?: boolean
  /** Approval wait: the approvers were asked already (after the reminder it only waits). */
  asked?: boolean
  /** The expiry the current wait is for; a grant extended meanwhile wakes the wait at once. */
  expiresAt?: string
  /** Expiry wait: true while it ends at the expiry warning rather than at expiry. */
  warn?: boolean
}

/** What ends the wait of an active grant early. */
export type WaitEvent = 'revoke' | 'extend'

export interface WorkflowCallbacks {
  /** Ends a wait successfully (SendTaskSuccess). A token that is no longer waited on is ignored. */
  resume(taskToken: string, output: { grantId: string; event?: WaitEvent }): Promise<void>
  /** Ends a wait with a named error the state machine catches (SendTaskFailure). */
  reject(taskToken: string, error: WorkflowSignalName, cause: string): Promise<void>
}

/**
 * Where an execution picks the grant up: asking its approvers (PENDING), attaching (APPROVED),
 * waiting for its end (ACTIVE), or removing access again (REVOKE_FAILED).
 */
export type WorkflowStage = 'ask' | 'attach' | 'wait' | 'revoke'

/** The grant's latest execution: its name, its attempt number (1 for `<grant id>`), whether it runs. */
export interface ExecutionState {
  name: string
  attempt: number
  running: boolean
}

export interface Workflow extends WorkflowCallbacks {
  /** Starts the grant's first execution (named by its id); starting it again is harmless. */
  start(grant: Grant, now: Date): Promise<void>
  /**
   * Starts an execution named `name` from where `grant` stands. Returns false if an execution
   * of that name exists already (nothing is started).
   */
  startExecution(grant: Grant, name: string, now: Date): Promise<boolean>
  /** The grant's latest execution, or undefined if it never had one (or AWS no longer remembers it). */
  latestExecution(grantId: string): Promise<ExecutionState | undefined>
}

/** The most attempts a grant's workflow gets: a grant whose executions keep dying needs a person. */
export const MAX_EXECUTION_ATTEMPTS = 10

export const executionName = (grantId: string, attempt: number): string =>
  attempt === 1 ? grantId : `${grantId}-${attempt}`

/**
 * The latest of a grant's executions, found by asking for each attempt's name in turn until
 * one does not exist (attempts are few: one, unless executions were lost).
 */
export async function probeAttempts(
  grantId: string,
  describe: (name: string) => Promise<'running' | 'ended' | undefined>,
): Promise<ExecutionState | undefined> {
  let latest: ExecutionState | undefined
  for (let attempt = 1; attempt <= MAX_EXECUTION_ATTEMPTS; attempt++) {
    const name = executionName(grantId, attempt)
    const status = await describe(name)
    if (!status) break
    latest = { name, attempt, running: status === 'running' }
  }
  return latest
}

/** A task's way of telling the state machine which way to go; its name is what Catch matches. */
export class WorkflowSignal extends Error {
  constructor(name: WorkflowSignalName, message: string) {
    super(message)
    this.name = name
  }
}

/** Seconds from `now` until `until`, rounded up, at least 1: a wait never ends before its instant. */
export function secondsUntil(until: string, now: Date): number {
  return Math.max(1, Math.ceil((Date.parse(until) - now.getTime()) / 1000))
}

/**
 * Seconds from `now` until `until`, rounded down, at least 1. Step Functions times waits in
 * whole seconds; rounding up would end access up to a second late, so the expiry wait ends up
 * to a second early and the revoking task waits out the rest itself.
 */
export function wholeSecondsBefore(until: string, now: Date): number {
  return Math.max(1, Math.floor((Date.parse(until) - now.getTime()) / 1000))
}

/** How long before expiry the requester is warned, unless a deployment says otherwise. */
export const DEFAULT_EXPIRY_WARNING_SECONDS = 300

/**
 * An execution's first Payload, from where the grant stands. A request waits until halfway to
 * its deadline, when the approvers still to decide get a reminder, unless that is under a
 * second away (a restarted request past halfway only waits). Approvers already asked are not
 * asked again: the Slack notifier sends each copy once. An active grant waits for its end.
 */
export function startPayload(
  grant: Grant,
  now: Date,
  expiryWarningSeconds = DEFAULT_EXPIRY_WARNING_SECONDS,
): WorkflowPayload {
  switch (grant.status) {
    case 'PENDING': {
      const halfway = new Date((Date.parse(grant.requestedAt) + Date.parse(grant.decideBy)) / 2)
      const remind = halfway.getTime() - now.getTime() >= 1000
      return {
        grantId: grant.id,
        stage: 'ask',
        asked: false,
        remind,
        timeoutSeconds: secondsUntil(remind ? halfway.toISOString() : grant.decideBy, now),
      }
    }
    case 'ACTIVE':
      return { ...expiryWaitPayload(grant, now, expiryWarningSeconds), stage: 'wait' }
    case 'REVOKE_FAILED':
      return { grantId: grant.id, stage: 'revoke', timeoutSeconds: 1 }
    case 'APPROVED':
      return { grantId: grant.id, stage: 'attach', timeoutSeconds: 1 }
    default:
      throw new Error(`${grant.id} is ${grant.status}: an ended grant has no workflow to start`)
  }
}

/**
 * The expiry wait's Payload: until the warning while one is due and at least a second away,
 * else until expiry.
 */
export function expiryWaitPayload(
  grant: Grant,
  now: Date,
  expiryWarningSeconds: number,
  warnFirst = true,
): WorkflowPayload {
  const expiresAt = grant.expiresAt ?? isoSeconds(now)
  const warnAt = addSeconds(expiresAt, -expiryWarningSeconds)
  const warn = warnFirst && warnAt.getTime() - now.getTime() >= 1000
  return {
    grantId: grant.id,
    expiresAt,
    warn,
    timeoutSeconds: wholeSecondsBefore(warn ? warnAt.toISOString() : expiresAt, now),
  }
}
