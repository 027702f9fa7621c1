import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { Verdict } from '../../core/alerts/evaluate.ts'
import { type StoredVerdict, storedVerdictSchema, type VerdictStore } from '../../core/alerts/verdicts.ts'
import { isoSeconds } from '../../core/clock.ts'
import { INDEXES, parseItem, UNSENT_ALERTS_PARTITION, verdictKey } from './keys.ts'
import { putIfAbsent } from './put-if-absent.ts'

const { partitionKey: statusPk, sortKey: statusSk } = INDEXES.byStatus

/**
 * Verdicts in the grant table (one table for keyless, keys in keys.ts): `EVENT#<eventID>`.
 * An unsent alert is in the byStatus index under `ALERT#UNSENT`, so the senders find it with
 * one query, and leaves it when it is posted.
 */
export class DynamoVerdictStore implements VerdictStore {
  readonly #client: DynamoDBDocumentClient
  readonly #table: string

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client
    this.#table = tableName
  }

  async record(
    verdict: Verdict,
    at: Date,
    claimUntil: Date,
  ): Promise<{ stored: StoredVerdict; created: boolean }> {
    const alerting = verdict.findings.length > 0
    const stored: StoredVerdict = {
      ...verdict,
      recordedAt: isoSeconds(at),
      alert: alerting ? 'unsent' : 'none',
      ...(alerting ? { claimedUntil: claimUntil.toISOString() } : {}),
      attempts: 0,
    }
    const item = {
      ...stored,
      ...verdictKey(verdict.eventId),
      ...(alerting ? { [statusPk]: UNSENT_ALERTS_PARTITION, [statusSk]: unsentOrder(verdict) } : {}),
    }
    if (await putIfAbsent(this.#client, this.#table, item)) return { stored, created: true }
    const earlier = await this.get(verdict.eventId)
    if (!earlier) throw new Error(`verdict on ${verdict.eventId} exists but could not be read`)
    return { stored: earlier, created: false }
  }

  async get(eventId: string): Promise<StoredVerdict | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: verdictKey(eventId), ConsistentRead: true }),
    )
    return Item ? toVerdict(Item) : undefined
  }

  async claim(eventId: string, now: Date, until: Date): Promise<StoredVerdict | undefined> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: verdictKey(eventId),
          UpdateExpression: 'SET #claim = :until',
          ConditionExpression: '#alert = :unsent AND (attribute_not_exists(#claim) OR #claim <= :now)',
          ExpressionAttributeNames: { '#alert': 'alert', '#claim': 'claimedUntil' },
          ExpressionAttributeValues: {
            ':unsent': 'unsent',
            ':until': until.toISOString(),
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return Attributes ? toVerdict(Attributes) : undefined
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined
      throw error
    }
  }

  async markSent(eventId: string, posted: { channel: string; ts: string }, at: Date): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: verdictKey(eventId),
        UpdateExpression:
          'SET #alert = :sent, #posted = :posted, #attempts = #attempts + :one REMOVE #claim, #statusPk, #statusSk',
        ExpressionAttributeNames: {
          '#alert': 'alert',
          '#posted': 'posted',
          '#attempts': 'attempts',
          '#claim': 'claimedUntil',
          '#statusPk': statusPk,
          '#statusSk': statusSk,
        },
        ExpressionAttributeValues: {
          ':sent': 'sent',
          ':posted': { ...posted, at: isoSeconds(at) },
          ':one': 1,
        },
      }),
    )
  }

  async release(eventId: string, error: string, options: { keepClaim?: boolean } = {}): Promise<void> {
    await this.#client
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: verdictKey(eventId),
          UpdateExpression: `SET #error = :error, #attempts = #attempts + :one${options.keepClaim ? '' : ' REMOVE #claim'}`,
          ConditionExpression: '#alert = :unsent',
          ExpressionAttributeNames: {
            '#error': 'lastError',
            '#attempts': 'attempts',
            ...(options.keepClaim ? {} : { '#claim': 'claimedUntil' }),
            '#alert': 'alert',
          },
          ExpressionAttributeValues: { ':error': error.slice(0, 1000), ':one': 1, ':unsent': 'unsent' },
        }),
      )
      .catch((failure: unknown) => {
        // Sent meanwhile by another sender: nothing to give back.
        if (!(failure instanceof ConditionalCheckFailedException)) throw failure
      })
  }

  async listUnsent(limit: number): Promise<StoredVerdict[]> {
    const { Items } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: 'byStatus',
        KeyConditionExpression: '#pk = :unsent',
        ExpressionAttributeNames: { '#pk': statusPk },
        ExpressionAttributeValues: { ':unsent': UNSENT_ALERTS_PARTITION },
        Limit: limit,
      }),
    )
    return (Items ?? []).map(toVerdict)
  }
}

/** Oldest event first, ties by id. */
const unsentOrder = (verdict: Verdict) => `${verdict.eventTime}#${verdict.eventId}`

const toVerdict = (item: Record<string, unknown>): StoredVerdict =>
  parseItem(item, storedVerdictSchema, 'verdict')
