import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'

/** docs/contract.md "A grant's life". */
export const GRANT_STATUSES = [
  'PENDING',
  'APPROVED',
  'ACTIVE',
  'EXPIRED',
  'REVOKED',
  'DENIED',
  'CANCELLED',
  'TIMED_OUT',
  'FAILED',
  'REVOKE_FAILED',
] as const
export type GrantStatus = (typeof GRANT_STATUSES)[number]

/** States in which keyless still owes work: a decision, an attachment, or a removal. */
export const LIVE_STATUSES = ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKE_FAILED'] as const
export type LiveStatus = (typeof LIVE_STATUSES)[number]
export const isLive = (status: GrantStatus): status is LiveStatus =>
  (LIVE_STATUSES as readonly GrantStatus[]).includes(status)

/**
 * States in which a grant's policy may be attached: being attached, attached, or left attached
 * by a failed removal. Only these grants can end (EXPIRED or REVOKED) or fail revocation.
 */
export const ACCESS_STATUSES = [
  'APPROVED',
  'ACTIVE',
  'REVOKE_FAILED',
] as const satisfies readonly LiveStatus[]
export const mayHoldAccess = (status: GrantStatus): boolean =>
  (ACCESS_STATUSES as readonly GrantStatus[]).includes(status)

/**
 * Who did something to a grant. Slack users are people acting for themselves; operators act
 * through the CLI with AWS credentials; the system is the workflow or the reconciler.
 */
export const actorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('slack'), id: z.string() }),
  z.object({ kind: z.literal('operator'), id: z.string() }),
  z.object({ kind: z.literal('system'), id: z.enum(['workflow', 'reconciler']) }),
])
export type Actor = z.infer<typeof actorSchema>

export const describeActor = (actor: Actor): string =>
  actor.kind === 'slack' ? `<@${actor.id}>` : `${actor.kind} ${actor.id}`

export const GRANT_ACTIONS = [
  'requested',
  'approval-recorded',
  'approved',
  'auto-approved',
  'break-glass',
  'denied',
  'cancelled',
  'timed-out',
  'activated',
  'activation-failed',
  'revocation-requested',
  'expired',
  'revoked',
  'revocation-failed',
  'extension-requested',
  'extension-approval-recorded',
  'extended',
  'extension-denied',
  /** Someone tried something the rules refused (self-approval, a non-approver, a late click). */
  'refused',
] as const
export type GrantAction = (typeof GRANT_ACTIONS)[number]

const approvalSchema = z.object({ by: z.string(), at: z.string() })
export type Approval = z.infer<typeof approvalSchema>

/**
 * One copy of a message that asks people to decide: a DM to an approver or a post in the
 * approval channel. Every copy is kept so that each can be updated once the question is
 * answered (`chat.update`), never through a `response_url`, which allows five uses.
 */
const slackMessageSchema = z.object({
  channel: z.string(),
  ts: z.string(),
  /** What the copy asks: the request itself, or the extension requested at `extensionRequestedAt`. */
  asks: z.enum(['request', 'extension']),
  extensionRequestedAt: z.string().optional(),
  /** The approver the copy was sent to; absent for the approval channel's copy. */
  to: z.string().optional(),
})
export type SlackMessageRef = z.infer<typeof slackMessageSchema>

/**
 * An access CloudTrail recorded while the grant covered it (a session started, an SSH key
 * sent), linked by the alert function: the post-grant report of who went where, from where.
 */
const sessionSchema = z.object({
  at: z.string(),
  eventName: z.string(),
  /** Who acted, as CloudTrail names them: the assumed-role session or the user. */
  principal: z.string(),
  instances: z.array(z.string()),
  sourceIPAddress: z.string().nullable(),
  mfa: z.boolean(),
  /** The rules the access raised, if any (NO_MFA, UNEXPECTED_SOURCE_IP, BREAK_GLASS, …). */
  rules: z.array(z.string()),
})
export type GrantSession = z.infer<typeof sessionSchema>

/** The accesses recorded under a grant, oldest first (they are kept by eventID, in arrival order). */
export const sessionsOf = (grant: Grant): GrantSession[] =>
  Object.values(grant.sessions ?? {}).sort((a, b) => a.at.localeCompare(b.at))

const historyEntrySchema = z.object({
  at: z.string(),
  actor: actorSchema,
  action: z.enum(GRANT_ACTIONS),
  from: z.enum(GRANT_STATUSES).nullable(),
  to: z.enum(GRANT_STATUSES),
  detail: z.string().optional(),
})
export type HistoryEntry = z.infer<typeof historyEntrySchema>

/**
 * A grant as stored. Parsed with this schema whenever it is read back, so an item written by
 * another version, or by hand, is refused rather than half-understood.
 */
export const grantSchema = z.object({
  id: z.string(),
  /** The caller's idempotency key (Slack's trigger id): a replayed request finds this grant. */
  clientToken: z.string(),
  /** The target, or with several the first of them (`targets` has them all). */
  target: z.string(),
  /** Every target one request named (absent on grants of one target made before requests could name several). */
  targets: z.array(z.string()).min(1).optional(),
  /**
   * With targets in several accounts: where each account's policy goes, over which targets (one
   * policy per account, attached all or nothing). `principal` is the first of them.
   */
  placements: z
    .array(z.object({ account: z.string(), principal: z.string(), targets: z.array(z.string()).min(1) }))
    .optional(),
  /** The Slack user who asked. */
  requester: z.string(),
  /** The IAM role or user ARN the policy attaches to. */
  principal: z.string(),
  reason: z.string(),
  durationSeconds: z.number().int().positive(),
  breakGlass: z.boolean(),
  /**
   * Who may decide, how many must, whether the target auto-approves and its maximum: fixed
   * when the request is made, so a later config edit cannot change a decision in flight.
   */
  approvers: z.array(z.string()),
  requiredApprovals: z.number().int().positive(),
  /** With several targets: each one's approvers and approvals, every one of which must be met. */
  approvalRules: z
    .array(
      z.object({
        target: z.string(),
        approvers: z.array(z.string()),
        approvals: z.number().int().positive(),
      }),
    )
    .optional(),
  autoApprove: z.boolean(),
  maxDurationSeconds: z.number().int().positive(),
  status: z.enum(GRANT_STATUSES),
  /** Incremented by every transition; each write is conditional on the version it read. */
  version: z.number().int().positive(),
  requestedAt: z.string(),
  /** An undecided request times out at this instant. */
  decideBy: z.string(),
  approvals: z.array(approvalSchema),
  /** The access clock starts here, when the policy was attached. */
  activatedAt: z.string().optional(),
  expiresAt: z.string().optional(),
  endedAt: z.string().optional(),
  revocation: z.object({ by: actorSchema, at: z.string(), reason: z.string().optional() }).optional(),
  extension: z
    .object({
      durationSeconds: z.number().int().positive(),
      requestedAt: z.string(),
      approvals: z.array(approvalSchema),
    })
    .optional(),
  /**
   * The Step Functions task token of the wait in progress: for a decision while PENDING, for
   * expiry, extension or revocation while ACTIVE. Whoever changes the grant in a way that ends
   * the wait sends it back.
   */
  taskToken: z.string().optional(),
  /** The approval messages sent for this grant, so every copy can be updated after a decision. */
  slackMessages: z.array(slackMessageSchema).optional(),
  /** Accesses recorded under the grant, by CloudTrail eventID (a redelivered event is one entry). */
  sessions: z.record(z.string(), sessionSchema).optional(),
  history: z.array(historyEntrySchema),
})
export type Grant = z.infer<typeof grantSchema>

/** Every target of a grant, the first being `target`. */
export const grantTargets = (grant: Pick<Grant, 'target' | 'targets'>): string[] =>
  grant.targets ?? [grant.target]

export type GrantPlacement = NonNullable<Grant['placements']>[number]

/** Where each of a grant's policies goes: one per account, over that account's targets. */
export function grantPlacements(
  grant: Pick<Grant, 'target' | 'targets' | 'principal' | 'placements'>,
): GrantPlacement[] {
  return (
    grant.placements ?? [
      {
        account: grant.principal.split(':')[4] ?? '',
        principal: grant.principal,
        targets: grantTargets(grant),
      },
    ]
  )
}

const GRANT_ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32: no i, l, o, u
export const GRANT_ID_PATTERN = /^g-[0-9a-hjkmnp-tv-z]{10}$/

/**
 * A grant's id is derived from its client token, so a replayed request (a Slack retry) maps to
 * the same item and the store's conditional create makes it a no-op. 50 bits of SHA-256 keep
 * the id short enough to type in `/access revoke g-…`; a collision is detected, never merged.
 */
export function grantIdFor(clientToken: string): string {
  const digest = createHash('sha256').update(clientToken).digest()
  let bits = 0n
  for (const byte of digest.subarray(0, 7)) bits = (bits << 8n) | BigInt(byte)
  let id = ''
  for (let i = 0; i < 10; i++) {
    id += GRANT_ID_ALPHABET[Number((bits >> BigInt(51 - 5 * i)) & 31n)]
  }
  return `g-${id}`
}

export const newClientToken = (): string => randomUUID()
