import { SLACK_BUDGET_MS, withSlackBudget } from '../shared/adapters/slack/budget.ts'
import type { TaskDeps } from '../shared/core/grants/tasks.ts'
import * as askForApproval from './ask-for-approval/handler.ts'
import * as attachAccess from './attach-access/handler.ts'
import * as extendAccess from './extend-access/handler.ts'
import * as failActivation from './fail-activation/handler.ts'
import type { GrantWorkflowTask } from './grant-workflow-folders.ts'
import * as markRevocationFailed from './mark-revocation-failed/handler.ts'
import * as remindApprovers from './remind-approvers/handler.ts'
import * as revokeAccess from './revoke-access/handler.ts'
import * as timeOutRequest from './time-out-request/handler.ts'
import * as waitForEnd from './wait-for-end/handler.ts'
import * as warnOfExpiry from './warn-of-expiry/handler.ts'

/**
 * The grant workflow's tasks: each definition substitution of statemachines/grant.asl.json
 * and its raw handler (what the local runner calls); grant-workflow-folders.ts names the
 * function folder deployed for each.
 */
export const GRANT_WORKFLOW_TASKS = {
  AskForApprovalFunctionArn: askForApproval.raw,
  RemindApproversFunctionArn: remindApprovers.raw,
  TimeOutRequestFunctionArn: timeOutRequest.raw,
  AttachAccessFunctionArn: attachAccess.raw,
  WaitForEndFunctionArn: waitForEnd.raw,
  WarnOfExpiryFunctionArn: warnOfExpiry.raw,
  ExtendAccessFunctionArn: extendAccess.raw,
  RevokeAccessFunctionArn: revokeAccess.raw,
  FailActivationFunctionArn: failActivation.raw,
  MarkRevocationFailedFunctionArn: markRevocationFailed.raw,
} as const satisfies Record<GrantWorkflowTask, (deps: TaskDeps) => unknown>

export type { GrantWorkflowTask }

/**
 * Every task bound to its raw handler with the plane's task dependencies (`deps`, read at each
 * run: the local plane is assembled after its runner), each run with a Slack budget as in Lambda.
 */
export function bindGrantWorkflowTasks(
  deps: () => TaskDeps,
  slackBudgetMs: number = SLACK_BUDGET_MS.task,
): Record<GrantWorkflowTask, (payload: unknown) => Promise<unknown>> {
  const bound = {} as Record<GrantWorkflowTask, (payload: unknown) => Promise<unknown>>
  for (const [name, raw] of Object.entries(GRANT_WORKFLOW_TASKS)) {
    const run = raw as (deps: TaskDeps) => (payload: unknown) => Promise<unknown>
    bound[name as GrantWorkflowTask] = (payload) => withSlackBudget(slackBudgetMs, () => run(deps())(payload))
  }
  return bound
}
