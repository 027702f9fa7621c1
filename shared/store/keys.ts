import { type Grant, isLive } from '../grants/grant.ts'

/**
 * Every key of the single grant table, built in one place (STYLE.md 9). The base item is
 * `GRANT#<id>` / `GRANT`; four sparse indexes serve the access patterns, and an index
 * attribute is present only while the grant belongs in that index.
 */

export const INDEXES = {
  byRequester: { partitionKey: 'requesterPk', sortKey: 'requesterSk' },
  byActiveTarget: { partitionKey: 'activeTargetPk', sortKey: 'activeTargetSk' },
  byActivePrincipal: { partitionKey: 'activePrincipalPk', sortKey: 'activePrincipalSk' },
  byStatus: { partitionKey: 'statusPk', sortKey: 'statusSk' },
} as const
export type IndexName = keyof typeof INDEXES

export const TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk' } as const

export const grantKey = (id: string) => ({ pk: `GRANT#${id}`, sk: 'GRANT' })

export const requesterPartition = (requester: string) => `REQUESTER#${requester}`
export const activeTargetPartition = (target: string) => `TARGET#${target}`
export const activePrincipalPartition = (principal: string) => `PRINCIPAL#${principal}`
export const statusPartition = (status: string) => `STATUS#${status}`
/** Sorts after every `<time>#<id>` sort key with that time: the upper bound "due by time". */
export const dueUpTo = (isoTime: string) => `${isoTime}#~`

/** The index attributes `grant` carries: a value for each index it belongs to, undefined otherwise. */
export function indexAttributes(grant: Grant): Record<string, string | undefined> {
  const active = grant.status === 'ACTIVE' && grant.expiresAt !== undefined
  const byExpiry = active ? `${grant.expiresAt}#${grant.id}` : undefined
  return {
    requesterPk: requesterPartition(grant.requester),
    requesterSk: `${grant.requestedAt}#${grant.id}`,
    activeTargetPk: active ? activeTargetPartition(grant.target) : undefined,
    activeTargetSk: byExpiry,
    activePrincipalPk: active ? activePrincipalPartition(grant.principal) : undefined,
    activePrincipalSk: byExpiry,
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
