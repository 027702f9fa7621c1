import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { z } from 'zod'
import { parseItem, reconcilerRunKey } from './keys.ts'

/** The reconciler's last run, as it recorded it: what `keyless doctor --stack` reads to say it runs. */
export interface ReconcilerRun {
  at: string
  findings: number
  alertsPosted: number
}

const reconcilerRunSchema = z.object({
  at: z.string(),
  findings: z.number().int().nonnegative(),
  alertsPosted: z.number().int().nonnegative(),
}) satisfies z.ZodType<ReconcilerRun>

/** One item in the grant table, overwritten by every run. */
export class DynamoReconcilerRuns {
  readonly #client: DynamoDBDocumentClient
  readonly #table: string

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client
    this.#table = tableName
  }

  async record(run: ReconcilerRun): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#table, Item: { ...reconcilerRunKey, ...run } }))
  }

  async last(): Promise<ReconcilerRun | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: reconcilerRunKey }),
    )
    return Item ? parseItem(Item, reconcilerRunSchema, 'reconciler run') : undefined
  }
}
