/**
 * Every error name of keyless's own that statemachines/grant.asl.json matches on, in its Retry
 * and Catch, defined once: the task code throws errors with these names, and a test checks that
 * the definition's `ErrorEquals` names (beyond AWS's own `States.*` and `Lambda.*`) are exactly
 * these. Renaming one here without the definition, or the other way round, fails that test.
 */
export const WORKFLOW_ERRORS = {
  /** The request was decided against, cancelled or timed out while a task ran: Request closed. */
  requestClosed: 'RequestClosed',
  /** The grant was revoked (or ended) before access could be attached or extended. */
  grantRevoked: 'GrantRevoked',
  /** An approval beat the clock: go on to Attach access. */
  grantApproved: 'GrantApproved',
  /** IAM or Session Manager throttled or failed transiently: retried with backoff. */
  accessBackendRetryable: 'AccessBackendRetryable',
  /** The REVOKE_FAILED security alert did not reach Slack: the task is retried until it does. */
  alertNotSent: 'AlertNotSent',
} as const

export type WorkflowErrorName = (typeof WORKFLOW_ERRORS)[keyof typeof WORKFLOW_ERRORS]

/** The errors a task raises to choose the state machine's path (not failures). */
export type WorkflowSignalName =
  | typeof WORKFLOW_ERRORS.requestClosed
  | typeof WORKFLOW_ERRORS.grantRevoked
  | typeof WORKFLOW_ERRORS.grantApproved
