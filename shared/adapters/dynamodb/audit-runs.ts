import { gunzipSync, gzipSync } from 'node:zlib'
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { z } from 'zod'
import type { AuditRun, AuditRuns } from '../../core/audit/scheduled.ts'
import { auditRunKey, parseItem } from './keys.ts'

const auditRunSchema = z.object({
  at: z.string(),
  findings: z.array(
    z.object({
      principal: z.string(),
      account: z.string(),
      target: z.string(),
      kind: z.enum(['standing', 'grant', 'accepted']),
      actions: z.array(z.string()),
    }),
  ),
  orphanGrantRoles: z.array(z.string()).optional(),
}) satisfies z.ZodType<AuditRun>

/** The item: when it was saved, and the run as gzipped JSON. */
const storedSchema = z.object({ at: z.string(), run: z.instanceof(Uint8Array) })

/**
 * A DynamoDB item holds 400 KB. Findings repeat their ARNs, accounts and actions, so gzip keeps
 * one in a few dozen bytes: tens of thousands of standing findings fit, with room for the keys.
 */
export const MAX_STORED_RUN_BYTES = 390_000

/** The last scheduled audit's findings: one item in the grant table, overwritten by every run. */
export class DynamoAuditRuns implements AuditRuns {
  readonly #client: DynamoDBDocumentClient
  readonly #table: string

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client
    this.#table = tableName
  }

  async last(): Promise<AuditRun | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: auditRunKey, ConsistentRead: true }),
    )
    if (!Item) return undefined
    // Runs saved before they were compressed kept their findings as attributes.
    if (!('run' in Item)) return parseItem(Item, auditRunSchema, 'audit run')
    const { run } = parseItem(Item, storedSchema, 'audit run')
    return parseItem(JSON.parse(gunzipSync(run).toString('utf8')), auditRunSchema, 'audit run')
  }

  async save(run: AuditRun): Promise<void> {
    const compressed = gzipSync(JSON.stringify(run))
    if (compressed.length > MAX_STORED_RUN_BYTES) {
      throw new Error(
        `the audit's ${run.findings.length} findings take ${Math.ceil(compressed.length / 1000)} KB compressed, more than one DynamoDB item holds (${MAX_STORED_RUN_BYTES / 1000} KB): the next run compares with the last run saved; accept the findings that are expected (audit.accepted) so fewer are kept`,
      )
    }
    await this.#client.send(
      new PutCommand({ TableName: this.#table, Item: { ...auditRunKey, at: run.at, run: compressed } }),
    )
  }
}
