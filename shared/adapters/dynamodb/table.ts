import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb'
import { INDEXES, TABLE_KEY } from './keys.ts'

/**
 * The grant table's shape, stated once: the local control plane and the tests create it from
 * this; the CDK construct declares the same keys and indexes from the same constants.
 */
export function grantTableDefinition(tableName: string): CreateTableCommandInput {
  const attributes = [TABLE_KEY, ...Object.values(INDEXES)].flatMap((key) => [key.partitionKey, key.sortKey])
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEY.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: Object.entries(INDEXES).map(([name, index]) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  }
}
