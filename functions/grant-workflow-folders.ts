/**
 * The grant workflow's tasks: each definition substitution of statemachines/grant.asl.json and
 * the function folder deployed for it. Imports nothing, so the CDK app reads it without loading
 * any handler; grant-workflow-tasks.ts binds each to its handler for the local runner.
 */
export const GRANT_WORKFLOW_FOLDERS = {
  AskForApprovalFunctionArn: 'ask-for-approval',
  RemindApproversFunctionArn: 'remind-approvers',
  TimeOutRequestFunctionArn: 'time-out-request',
  AttachAccessFunctionArn: 'attach-access',
  WaitForEndFunctionArn: 'wait-for-end',
  WarnOfExpiryFunctionArn: 'warn-of-expiry',
  ExtendAccessFunctionArn: 'extend-access',
  RevokeAccessFunctionArn: 'revoke-access',
  FailActivationFunctionArn: 'fail-activation',
  MarkRevocationFailedFunctionArn: 'mark-revocation-failed',
} as const

export type GrantWorkflowTask = keyof typeof GRANT_WORKFLOW_FOLDERS
