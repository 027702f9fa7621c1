import type { Grant, GrantSession, HistoryEntry, LiveStatus, SlackMessageRef } from './grant.ts'
import type { Transition } from './lifecycle.ts'

/** The grant store as the domain needs it: one method per access pattern. */
export interface GrantStore {
  /**
   * Writes a new grant unless one with its id exists. A replay of the same client token returns
   * the stored grant with `created: false`; nothing is written twice.
   */
  create(grant: Grant): Promise<{ grant: Grant; created: boolean }>
  get(id: string): Promise<Grant | undefined>
  /**
   * Applies `transition` to `current` in one conditional write: it succeeds only if the stored
   * grant still has `current`'s status and version, and it appends the history entry in the same
   * update. A lost race throws GrantError CONFLICT; the caller re-reads and decides again.
   */
  transition(current: Grant, transition: Transition): Promise<Grant>
  /**
   * Records the workflow's task token on `current` (conditional on its status and version, and
   * on no revocation having been asked for), so that whoever ends the wait can send it back.
   * Bumps the version: a decision made on the read before it retries and sees the token.
   * A lost race throws GrantError CONFLICT.
   */
  saveTaskToken(current: Grant, taskToken: string): Promise<Grant>
  /**
   * Remembers the copies of an approval message sent for the grant. Not a transition: it
   * changes no decision, so it neither checks nor bumps the version, and a transition racing
   * it keeps both (each writes only its own attributes).
   */
  addSlackMessages(grantId: string, messages: SlackMessageRef[]): Promise<void>
  /**
   * Appends a refusal (someone tried what the rules refuse) to the grant's history, unless the
   * history already holds `MAX_HISTORY` entries: a person clicking a refused button forever
   * must not grow the item to DynamoDB's size limit. Like addSlackMessages, not a transition.
   * Returns whether the entry was recorded.
   */
  recordRefusal(grantId: string, entry: HistoryEntry): Promise<boolean>
  /** Newest first. */
  /** The grants `requester` asked for between `from` and `to` (by request time). */
  listRequestedBy(requester: string, from: Date, to: Date): Promise<Grant[]>
  listByRequester(requester: string, options?: { limit?: number }): Promise<Grant[]>
  /**
   * The grants of `principal` activated between `from` and `to` (inclusive, any status since:
   * ended grants too), oldest first. How the alert function finds the grant that covered an
   * access: an index query over one principal's recent grants, never a scan.
   */
  listActivatedByPrincipal(principal: string, from: Date, to: Date): Promise<Grant[]>
  /**
   * Links an access to the grant it happened under, keyed by CloudTrail's eventID, so a
   * redelivered event is recorded once. Like recordRefusal, not a transition, and capped at
   * `MAX_SESSIONS`; returns whether it was recorded.
   */
  recordSession(grantId: string, eventId: string, session: GrantSession): Promise<boolean>
  /**
   * Requests (PENDING) and extensions (ACTIVE, asked for) that name `approver` among their
   * approvers: what App Home lists as waiting for that person. Filtered by the store, so a
   * person's view does not cost a read of every pending grant in the organisation.
   */
  listAwaitingDecisionBy(approver: string): Promise<Grant[]>
  /** Every grant in a live status, soonest due first (the reconciler's view of what may hold access). */
  listInStatus(status: LiveStatus): Promise<Grant[]>
  /**
   * Every grant, newest request first, at most `limit`. A full read of the table: for an
   * operator's `keyless grants list --all`, never on a request path.
   */
  listAll(options?: { limit?: number }): Promise<Grant[]>
}

/** The most history entries a grant keeps; refusals beyond it are logged, not stored. */
export const MAX_HISTORY = 200
/** The most sessions a grant keeps; the verdicts keep every access regardless. */
export const MAX_SESSIONS = 200
