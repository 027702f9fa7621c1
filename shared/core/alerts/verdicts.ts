import { z } from 'zod'
import type { Verdict } from './evaluate.ts'
import { RULES } from './rules.ts'

/**
 * Every access event's verdict, kept by CloudTrail eventID: EventBridge delivers at least
 * once, and a second delivery must find the first verdict rather than alert again. A verdict
 * with findings carries the state of its security alert, so one that Slack refused is sent by
 * the next invocation (or the reconciler) rather than lost.
 */
export type AlertState =
  /** No finding: nothing to post. */
  | 'none'
  /** To be posted: never sent, or Slack failed. */
  | 'unsent'
  | 'sent'

export interface StoredVerdict extends Verdict {
  recordedAt: string
  alert: AlertState
  /** Until when a sender has the alert to itself: two senders never post the same alert at once. */
  claimedUntil?: string
  /** Where the alert was posted. */
  posted?: { channel: string; ts: string; at: string }
  /** The last reason posting failed, for `keyless doctor` and the logs. */
  lastError?: string
  attempts: number
}

export interface VerdictStore {
  /**
   * Stores `verdict` unless one with its eventID exists; a verdict with findings is stored
   * unsent and claimed by the caller until `claimUntil`. Returns the stored verdict (the
   * earlier one on a redelivery) and whether this call created it.
   */
  record(verdict: Verdict, at: Date, claimUntil: Date): Promise<{ stored: StoredVerdict; created: boolean }>
  get(eventId: string): Promise<StoredVerdict | undefined>
  /** Takes an unsent alert nobody holds (or whose holder's claim ran out); undefined when it is not to be had. */
  claim(eventId: string, now: Date, until: Date): Promise<StoredVerdict | undefined>
  markSent(eventId: string, posted: { channel: string; ts: string }, at: Date): Promise<void>
  /**
   * Records a failed post and gives the claimed alert back, so the next sender may try at once;
   * with `keepClaim` (Slack may have posted it unconfirmed) the claim stays until it runs out.
   */
  release(eventId: string, error: string, options?: { keepClaim?: boolean }): Promise<void>
  /** Unsent alerts, oldest event first, at most `limit`. */
  listUnsent(limit: number): Promise<StoredVerdict[]>
}

const text = z.string().nullable()

/** A stored verdict as read back: parsed, so an item written by another version is refused, not half-read. */
export const storedVerdictSchema = z.object({
  eventId: z.string(),
  eventName: z.string(),
  eventTime: z.string(),
  account: text,
  region: text,
  principal: text,
  configuredPrincipal: text,
  people: z.array(z.string()),
  target: text,
  instances: z.array(z.string()),
  // Verdicts stored before keyless watched anything but sessions have none.
  subject: text.default(null),
  sourceIPAddress: text,
  mfa: z.boolean(),
  denied: text,
  grantId: text,
  findings: z.array(
    z.object({
      rule: z.enum(RULES),
      severity: z.enum(['critical', 'high', 'medium']),
      detail: z.string(),
      action: z.string(),
    }),
  ),
  recordedAt: z.string(),
  alert: z.enum(['none', 'unsent', 'sent']),
  claimedUntil: z.string().optional(),
  posted: z.object({ channel: z.string(), ts: z.string(), at: z.string() }).optional(),
  lastError: z.string().optional(),
  attempts: z.number().int().nonnegative(),
}) satisfies z.ZodType<StoredVerdict>
