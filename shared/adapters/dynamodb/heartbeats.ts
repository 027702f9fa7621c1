import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { z } from 'zod'
import type { HeartbeatPath, HeartbeatState, Heartbeats } from '../../core/alerts/heartbeat.ts'
import { heartbeatKey, parseItem } from './keys.ts'

const heartbeatSchema = z.object({
  lastSeenAt: z.string().nullable().default(null),
  watchingSince: z.string().nullable().default(null),
  silenceReportedAt: z.string().nullable().default(null),
}) satisfies z.ZodType<HeartbeatState, unknown>

/**
 * The heartbeat's items in the grant table, one per path: the alert function moves `lastSeenAt`
 * forward (never back: CloudTrail delivers out of order), the reconciler keeps its notes beside it.
 */
export class DynamoHeartbeats implements Heartbeats {
  readonly #client: DynamoDBDocumentClient
  readonly #table: string

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client
    this.#table = tableName
  }

  async seen(path: HeartbeatPath, at: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: heartbeatKey(path),
          UpdateExpression: 'SET lastSeenAt = :at',
          ConditionExpression: 'attribute_not_exists(lastSeenAt) OR lastSeenAt < :at',
          ExpressionAttributeValues: { ':at': at },
        }),
      )
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error
    }
  }

  async read(path: HeartbeatPath): Promise<HeartbeatState> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: heartbeatKey(path), ConsistentRead: true }),
    )
    return parseItem(Item ?? {}, heartbeatSchema, 'heartbeat')
  }

  async note(
    path: HeartbeatPath,
    change: { watchingSince?: string; silenceReportedAt?: string | null },
  ): Promise<void> {
    const set = Object.entries(change).filter(([, value]) => value !== undefined && value !== null)
    const removed = Object.entries(change).filter(([, value]) => value === null)
    const expression = [
      set.length ? `SET ${set.map(([name]) => `${name} = :${name}`).join(', ')}` : '',
      removed.length ? `REMOVE ${removed.map(([name]) => name).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ')
    if (!expression) return
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: heartbeatKey(path),
        UpdateExpression: expression,
        ...(set.length
          ? { ExpressionAttributeValues: Object.fromEntries(set.map(([name, value]) => [`:${name}`, value])) }
          : {}),
      }),
    )
  }
}
