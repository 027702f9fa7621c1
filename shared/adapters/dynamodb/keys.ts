import type { z } from 'zod'
import { type Grant, isLive } from '../../core/grants/grant.ts'

/**
 * Every key of the single table, built in one place. A grant's item is
 * `GRANT#<id>` / `GRANT`; the verdict on a CloudTrail access event is `EVENT#<eventID>` /
 * `VERDICT`; the reconciler's last run and the last audit are one item each (`RECONCILER`,
 * `AUDIT`), the alert path's heartbeats one per watched account and region (`HEARTBEAT`). Three
 * sparse indexes serve the access patterns, and an index attribute is present only while the
 * item belongs in that index.
 */

export const INDEXES = {
  byRequester: { partitionKey: 'requesterPk', sortKey: 'requesterSk' },
  /**
   * Every grant that ever held access, by principal and activation time (kept after it ends):
   * the alert function asks which grant covered an access at the time CloudTrail recorded it,
   * which may be after the grant ended.
   */
  byPrincipalAccess: { partitionKey: 'accessPrincipalPk', sortKey: 'accessPrincipalSk' },
  /** Live grants by status and due time; verdicts whose alert is still to be sent. */
  byStatus: { partitionKey: 'statusPk', sortKey: 'statusSk' },
} as const
export type IndexName = keyof typeof INDEXES

export const TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk' } as const

export const GRANT_SORT_KEY = 'GRANT'
export const grantKey = (id: string) => ({ pk: `GRANT#${id}`, sk: GRANT_SORT_KEY })
export const verdictKey = (eventId: string) => ({ pk: `EVENT#${eventId}`, sk: 'VERDICT' })
/** The reconciler's last run: one item, overwritten by each run. */
export const reconcilerRunKey = { pk: 'RECONCILER', sk: 'LAST_RUN' } as const
/** One heartbeat item per watched path (account and region). */
export const heartbeatKey = (path: { account: string; region: string }) =>
  ({ pk: 'HEARTBEAT', sk: `${path.account}#${path.region}` }) as const
export const auditRunKey = { pk: 'AUDIT', sk: 'LAST_RUN' } as const

export const requesterPartition = (requester: string) => `REQUESTER#${requester}`
export const principalAccessPartition = (principal: string) => `PRINCIPAL#${principal}`
export const statusPartition = (status: string) => `STATUS#${status}`
/** Verdicts whose security alert has not been posted yet (Slack failed): in byStatus. */
export const UNSENT_ALERTS_PARTITION = 'ALERT#UNSENT'
/** Sorts after every `<time>#<id>` sort key with that time: the upper bound "due by time". */
export const dueUpTo = (isoTime: string) => `${isoTime}#~`

/** The index attributes `grant` carries: a value for each index it belongs to, undefined otherwise. */
export function indexAttributes(grant: Grant): Record<string, string | undefined> {
  return {
    requesterPk: requesterPartition(grant.requester),
    requesterSk: `${grant.requestedAt}#${grant.id}`,
    accessPrincipalPk: grant.activatedAt ? principalAccessPartition(grant.principal) : undefined,
    accessPrincipalSk: grant.activatedAt ? `${grant.activatedAt}#${grant.id}` : undefined,
    statusPk: isLive(grant.status) ? statusPartition(grant.status) : undefined,
    statusSk: isLive(grant.status) ? `${dueAt(grant)}#${grant.id}` : undefined,
  }
}

function dueAt(grant: Grant): string {
  if (grant.status === 'PENDING') return grant.decideBy
  if (grant.status === 'ACTIVE' && grant.expiresAt) return grant.expiresAt
  return grant.history.at(-1)?.at ?? grant.requestedAt
}

export const KEY_ATTRIBUTES: readonly string[] = [
  TABLE_KEY.partitionKey,
  TABLE_KEY.sortKey,
  ...Object.values(INDEXES).flatMap((index) => [index.partitionKey, index.sortKey]),
]

/**
 * A stored item as the domain reads it: key attributes dropped, the rest parsed with `schema`,
 * so an item written by another version, or by hand, is refused rather than half-understood.
 */
export function parseItem<T>(item: Record<string, unknown>, schema: z.ZodType<T>, what: string): T {
  const fields = Object.fromEntries(Object.entries(item).filter(([name]) => !KEY_ATTRIBUTES.includes(name)))
  const parsed = schema.safeParse(fields)
  if (!parsed.success) {
    throw new Error(
      `${what} item ${String(item[TABLE_KEY.partitionKey])} is malformed: ${parsed.error.message}`,
    )
  }
  return parsed.data
}
