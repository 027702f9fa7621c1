import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { isoSeconds } from '../../core/clock.ts'
import { GrantError } from '../../core/grants/errors.ts'
import {
  type Grant,
  type GrantSession,
  grantSchema,
  type HistoryEntry,
  type LiveStatus,
  type SlackMessageRef,
} from '../../core/grants/grant.ts'
import { applyTransition, type Transition } from '../../core/grants/lifecycle.ts'
import { type GrantStore, MAX_HISTORY, MAX_SESSIONS } from '../../core/grants/store.ts'
import {
  dueUpTo,
  GRANT_SORT_KEY,
  grantKey,
  INDEXES,
  type IndexName,
  indexAttributes,
  parseItem,
  principalAccessPartition,
  requesterPartition,
  statusPartition,
  TABLE_KEY,
} from './keys.ts'
import { putIfAbsent } from './put-if-absent.ts'

/** GrantStore on one DynamoDB table (see keys.ts for its keys and indexes). */
export class DynamoGrantStore implements GrantStore {
  readonly #client: DynamoDBDocumentClient
  readonly #table: string

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client
    this.#table = tableName
  }

  async create(grant: Grant): Promise<{ grant: Grant; created: boolean }> {
    const item = { ...grant, ...grantKey(grant.id), ...indexAttributes(grant) }
    if (await putIfAbsent(this.#client, this.#table, item)) return { grant, created: true }
    const existing = await this.get(grant.id)
    if (existing?.clientToken === grant.clientToken) return { grant: existing, created: false }
    throw new GrantError(
      'CLIENT_TOKEN_COLLISION',
      `Grant id ${grant.id} is taken by another request; send the request again.`,
    )
  }

  async get(id: string): Promise<Grant | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: grantKey(id), ConsistentRead: true }),
    )
    return Item ? toGrant(Item) : undefined
  }

  async transition(current: Grant, transition: Transition): Promise<Grant> {
    if (transition.from !== current.status) {
      throw new Error(`transition from ${transition.from} applied to a ${current.status} grant`)
    }
    const next = applyTransition(current, transition)
    const names: Record<string, string> = {
      '#status': 'status',
      '#version': 'version',
      '#history': 'history',
    }
    const values: Record<string, unknown> = {
      ':from': current.status,
      ':version': current.version,
      ':to': next.status,
      ':nextVersion': next.version,
      ':entry': [transition.entry],
    }
    const sets = ['#status = :to', '#version = :nextVersion', '#history = list_append(#history, :entry)']
    const removes: string[] = []
    // Index attributes are written only where the grant moves into, out of or within an index.
    const indexesBefore = indexAttributes(current)
    const indexChanges = Object.entries(indexAttributes(next)).filter(
      ([name, value]) => indexesBefore[name] !== value,
    )
    const changed: Record<string, unknown> = { ...transition.set, ...Object.fromEntries(indexChanges) }
    for (const field of transition.remove) changed[field] = undefined
    Object.entries(changed).forEach(([field, value], index) => {
      names[`#f${index}`] = field
      if (value === undefined) {
        removes.push(`#f${index}`)
      } else {
        values[`:f${index}`] = value
        sets.push(`#f${index} = :f${index}`)
      }
    })
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: grantKey(current.id),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#status = :from AND #version = :version',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      )
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw conflict(current.id)
      throw error
    }
    return next
  }

  async saveTaskToken(current: Grant, taskToken: string): Promise<Grant> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: grantKey(current.id),
          UpdateExpression: 'SET #token = :token, #version = :nextVersion',
          ConditionExpression:
            '#status = :status AND #version = :version AND attribute_not_exists(#revocation)',
          ExpressionAttributeNames: {
            '#token': 'taskToken',
            '#version': 'version',
            '#status': 'status',
            '#revocation': 'revocation',
          },
          ExpressionAttributeValues: {
            ':token': taskToken,
            ':nextVersion': current.version + 1,
            ':status': current.status,
            ':version': current.version,
          },
        }),
      )
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw conflict(current.id)
      throw error
    }
    return { ...current, taskToken, version: current.version + 1 }
  }

  async addSlackMessages(grantId: string, messages: SlackMessageRef[]): Promise<void> {
    if (messages.length === 0) return
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: grantKey(grantId),
        UpdateExpression: 'SET #messages = list_append(if_not_exists(#messages, :none), :messages)',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#messages': 'slackMessages', '#pk': TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':messages': messages, ':none': [] },
      }),
    )
  }

  recordRefusal(grantId: string, entry: HistoryEntry): Promise<boolean> {
    return this.#conditionally(
      new UpdateCommand({
        TableName: this.#table,
        Key: grantKey(grantId),
        UpdateExpression: 'SET #history = list_append(#history, :entry)',
        ConditionExpression: 'attribute_exists(#pk) AND size(#history) < :max',
        ExpressionAttributeNames: { '#history': 'history', '#pk': TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':entry': [entry], ':max': MAX_HISTORY },
      }),
    )
  }

  /** Sends a conditional update; whether its condition held. */
  async #conditionally(command: UpdateCommand): Promise<boolean> {
    try {
      await this.#client.send(command)
      return true
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false
      throw error
    }
  }

  listByRequester(requester: string, options: { limit?: number } = {}): Promise<Grant[]> {
    return this.#query('byRequester', requesterPartition(requester), {
      newestFirst: true,
      ...options,
    })
  }

  listRequestedBy(requester: string, from: Date, to: Date): Promise<Grant[]> {
    return this.#query('byRequester', requesterPartition(requester), {
      sortKey: { from: `${isoSeconds(from)}#`, to: dueUpTo(isoSeconds(to)) },
    })
  }

  listActivatedByPrincipal(principal: string, from: Date, to: Date): Promise<Grant[]> {
    return this.#query('byPrincipalAccess', principalAccessPartition(principal), {
      sortKey: { from: `${isoSeconds(from)}#`, to: dueUpTo(isoSeconds(to)) },
    })
  }

  async recordSession(grantId: string, eventId: string, session: GrantSession): Promise<boolean> {
    const names = { '#sessions': 'sessions', '#event': eventId, '#pk': TABLE_KEY.partitionKey }
    // A map keyed by eventID: setting an entry twice is the same as once.
    const addEntry = () =>
      this.#conditionally(
        new UpdateCommand({
          TableName: this.#table,
          Key: grantKey(grantId),
          UpdateExpression: 'SET #sessions.#event = :session',
          ConditionExpression:
            'attribute_exists(#sessions) AND (attribute_exists(#sessions.#event) OR size(#sessions) < :max)',
          ExpressionAttributeNames: { '#sessions': names['#sessions'], '#event': eventId },
          ExpressionAttributeValues: { ':session': session, ':max': MAX_SESSIONS },
        }),
      )
    // The first session creates the map (DynamoDB cannot set an entry of a map not there yet).
    const createMap = () =>
      this.#conditionally(
        new UpdateCommand({
          TableName: this.#table,
          Key: grantKey(grantId),
          UpdateExpression: 'SET #sessions = :sessions',
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#sessions)',
          ExpressionAttributeNames: { '#sessions': names['#sessions'], '#pk': names['#pk'] },
          ExpressionAttributeValues: { ':sessions': { [eventId]: session } },
        }),
      )
    // Two events of one grant racing: one creates the map, the other then adds its entry.
    return (await addEntry()) || (await createMap()) || (await addEntry())
  }

  async listAwaitingDecisionBy(approver: string): Promise<Grant[]> {
    const named = {
      expression: 'contains(#approvers, :approver)',
      names: { '#approvers': 'approvers' },
      values: { ':approver': approver },
    }
    const [requests, extensions] = await Promise.all([
      this.#query('byStatus', statusPartition('PENDING'), { filter: named }),
      this.#query('byStatus', statusPartition('ACTIVE'), {
        filter: {
          expression: `${named.expression} AND attribute_exists(#extension)`,
          names: { ...named.names, '#extension': 'extension' },
          values: named.values,
        },
      }),
    ])
    return [...requests, ...extensions]
  }

  listInStatus(status: LiveStatus): Promise<Grant[]> {
    return this.#query('byStatus', statusPartition(status))
  }

  async listAll(options: { limit?: number } = {}): Promise<Grant[]> {
    const limit = options.limit ?? 1000
    const grants: Grant[] = []
    const pages = paginateScan(
      { client: this.#client },
      {
        TableName: this.#table,
        // The table also holds the verdicts on access events.
        FilterExpression: '#sk = :grant',
        ExpressionAttributeNames: { '#sk': TABLE_KEY.sortKey },
        ExpressionAttributeValues: { ':grant': GRANT_SORT_KEY },
      },
    )
    for await (const page of pages) for (const item of page.Items ?? []) grants.push(toGrant(item))
    // Ids break ties between requests made in the same second, so the order is stable.
    grants.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt) || a.id.localeCompare(b.id))
    return grants.slice(0, limit)
  }

  /** Every page of one index partition (or the first `limit` items), as grants. */
  async #query(
    index: IndexName,
    partition: string,
    options: {
      limit?: number
      newestFirst?: boolean
      /** Inclusive bounds on the index's sort key. */
      sortKey?: { from?: string; to: string }
      filter?: { expression: string; names: Record<string, string>; values: Record<string, unknown> }
    } = {},
  ): Promise<Grant[]> {
    const { partitionKey, sortKey } = INDEXES[index]
    const { filter, sortKey: range } = options
    const rangeCondition = range?.from === undefined ? '#sk <= :to' : '#sk BETWEEN :from AND :to'
    const input: QueryCommandInput = {
      TableName: this.#table,
      IndexName: index,
      KeyConditionExpression: range ? `#pk = :pk AND ${rangeCondition}` : '#pk = :pk',
      ...(filter ? { FilterExpression: filter.expression } : {}),
      ExpressionAttributeNames: {
        '#pk': partitionKey,
        ...(range ? { '#sk': sortKey } : {}),
        ...filter?.names,
      },
      ExpressionAttributeValues: {
        ':pk': partition,
        ...(range ? { ':to': range.to } : {}),
        ...(range?.from === undefined ? {} : { ':from': range.from }),
        ...filter?.values,
      },
      ScanIndexForward: !options.newestFirst,
    }
    const grants: Grant[] = []
    const pages = paginateQuery(
      { client: this.#client, ...(options.limit ? { pageSize: options.limit } : {}) },
      input,
    )
    for await (const page of pages) {
      for (const item of page.Items ?? []) grants.push(toGrant(item))
      if (options.limit !== undefined && grants.length >= options.limit) break
    }
    return options.limit === undefined ? grants : grants.slice(0, options.limit)
  }
}

const conflict = (id: string) =>
  new GrantError('CONFLICT', `${id} changed while this was being decided; look at it again and retry.`)

const toGrant = (item: Record<string, unknown>): Grant => parseItem(item, grantSchema, 'grant')
