import type { AuditChanges } from '../audit/audit.ts'
import type { Grant } from '../grants/grant.ts'

/**
 * What keyless tells people, as data. The Slack notifier turns each notice into messages (DMs
 * to the requester and approvers, the approval channel, the security channel); building a
 * message is separate from sending it, and no notice is ever required for access to end.
 */
export type Notice =
  /** A request waits for a decision: to its approvers (and the approval channel). */
  | { kind: 'approval-requested'; grant: Grant }
  /** Halfway to the approval deadline, nobody (or not enough people) decided: to the approvers still to decide. */
  | { kind: 'approval-reminder'; grant: Grant }
  /** The requester asked for more time: to the approvers, like a request. */
  | { kind: 'extension-requested'; grant: Grant }
  /** A person changed the grant (a decision, a cancellation, a revoke): every copy and view showing it is brought up to date. */
  | { kind: 'grant-updated'; grant: Grant }
  /** Access ends soon: to the requester, with a way to ask for more. */
  | { kind: 'expiring-soon'; grant: Grant }
  /** Access is attached: to the requester, with how to connect, and to the approvers. */
  | { kind: 'access-active'; grant: Grant; instructions: string[] }
  /** An extension was attached: to the requester and the approvers. */
  | { kind: 'access-extended'; grant: Grant }
  /** Access was removed (EXPIRED or REVOKED): to the requester and the approvers. */
  | { kind: 'access-ended'; grant: Grant; sessionsTerminated: number }
  /** A request ended without access (DENIED, TIMED_OUT, CANCELLED, FAILED): to the requester. */
  | { kind: 'request-closed'; grant: Grant; reason?: string }
  /** Security channel: removing access failed for good; an operator must look. */
  | { kind: 'revocation-failed'; grant: Grant; reason: string }
  /** Security channel: the reconciler found the world out of step with the grants and repaired it. */
  | { kind: 'reconciled'; findings: ReconcileFinding[] }
  /**
   * To the security channel: no heartbeat has come through CloudTrail to the alert function since
   * `since` (`silent`), or heartbeats arrive again after the silence reported at `since` (`back`).
   */
  | { kind: 'alert-path'; state: 'silent' | 'back'; lastSeenAt: string | null; since: string; path: string }
  /** To the security channel: what the scheduled standing-access audit found changed. */
  | { kind: 'audit-changed'; changes: AuditChanges }
  /** One line to the person who acted (in the channel they acted in, else a DM): what their click or command did. */
  | { kind: 'reply'; user: string; channel?: string; text: string }
  /** A person opened keyless's App Home: show them their grants. */
  | { kind: 'home-opened'; user: string }

export interface ReconcileFinding {
  what:
    | 'expired-access-removed'
    | 'orphan-policy-removed'
    | 'stuck-activation-failed'
    | 'stuck-request-timed-out'
    | 'revocation-retried'
    | 'execution-restarted'
    | 'repair-failed'
  grantId?: string
  principal: string
  policyName?: string
  detail: string
}

export interface Notifier {
  send(notice: Notice): Promise<void>
}
