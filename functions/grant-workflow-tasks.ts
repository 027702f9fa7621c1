import type { TaskDeps } from '../shared/grants/tasks.ts'
import * as askForApproval from './ask-for-approval/handler.ts'
import * as attachAccess from './attach-access/handler.ts'
import * as extendAccess from './extend-access/handler.ts'
import * as failActivation from './fail-activation/handler.ts'
import * as markRevocationFailed from './mark-revocation-failed/handler.ts'
import * as remindApprovers from './remind-approvers/handler.ts'
import * as revokeAccess from './revoke-access/handler.ts'
import * as timeOutRequest from './time-out-request/handler.ts'
import * as waitForEnd from './wait-for-end/handler.ts'
import * as warnOfExpiry from './warn-of-expiry/handler.ts'

/**
 * The grant workflow's tasks: each definition substitution of statemachines/grant.asl.json,
 * the function folder deployed for it, and its raw handler (what the local runner calls).
 */
export const GRANT_WORKFLOW_TASKS = {
  AskForApprovalFunctionArn: { folder: 'ask-for-approval', raw: askForApproval.raw },
  RemindApproversFunctionArn: { folder: 'remind-approvers', raw: remindApprovers.raw },
  TimeOutRequestFunctionArn: { folder: 'time-out-request', raw: timeOutRequest.raw },
  AttachAccessFunctionArn: { folder: 'attach-access', raw: attachAccess.raw },
  WaitForEndFunctionArn: { folder: 'wait-for-end', raw: waitForEnd.raw },
  WarnOfExpiryFunctionArn: { folder: 'warn-of-expiry', raw: warnOfExpiry.raw },
  ExtendAccessFunctionArn: { folder: 'extend-access', raw: extendAccess.raw },
  RevokeAccessFunctionArn: { folder: 'revoke-access', raw: revokeAccess.raw },
  FailActivationFunctionArn: { folder: 'fail-activation', raw: failActivation.raw },
  MarkRevocationFailedFunctionArn: { folder: 'mark-revocation-failed', raw: markRevocationFailed.raw },
} as const

export type GrantWorkflowTask = keyof typeof GRANT_WORKFLOW_TASKS

/** Every task bound to its raw handler with `deps`. */
export function bindGrantWorkflowTasks(
  deps: TaskDeps,
): Record<GrantWorkflowTask, (payload: unknown) => Promise<unknown>> {
  const bound = {} as Record<GrantWorkflowTask, (payload: unknown) => Promise<unknown>>
  for (const [name, task] of Object.entries(GRANT_WORKFLOW_TASKS)) {
    bound[name as GrantWorkflowTask] = task.raw(deps) as (payload: unknown) => Promise<unknown>
  }
  return bound
}
