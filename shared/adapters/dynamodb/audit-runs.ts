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
    return Item ? parseItem(Item, auditRunSchema, 'audit run') : undefined
  }

  async save(run: AuditRun): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#table, Item: { ...auditRunKey, ...run } }))
  }
}
