import type { Grant } from '../grants/grant.ts'

/**
 * The grant's workflow as the rest of keyless sees it: one execution per grant, named by the
 * grant id, and the callbacks that end its waits. `grant.asl.json` owns time and retries.
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
  needsApproval?: boolean
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
  reject(taskToken: string, error: WorkflowErrorName, cause: string): Promise<void>
}

export interface Workflow extends WorkflowCallbacks {
  /** Starts the grant's execution; starting it again is harmless. */
  start(grant: Grant, now: Date): Promise<void>
}

/** Error names the state machine routes on. They are part of grant.asl.json's contract. */
export type WorkflowErrorName = 'RequestClosed' | 'GrantRevoked' | 'GrantApproved'

/** A task's way of telling the state machine which way to go; its name is what Catch matches. */
export class WorkflowSignal extends Error {
  constructor(name: WorkflowErrorName, message: string) {
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

/**
 * The execution's first Payload. A request that waits for approval first waits until halfway
 * to its deadline, when the approvers still to decide get a reminder, unless that is under a
 * second away.
 */
export function startPayload(grant: Grant, now: Date): WorkflowPayload {
  const halfway = new Date((Date.parse(grant.requestedAt) + Date.parse(grant.decideBy)) / 2)
  const remind = halfway.getTime() - now.getTime() >= 1000
  return {
    grantId: grant.id,
    needsApproval: grant.status === 'PENDING',
    asked: false,
    remind,
    timeoutSeconds: secondsUntil(remind ? halfway.toISOString() : grant.decideBy, now),
  }
}
