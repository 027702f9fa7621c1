import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/**
 * The one place AWS clients are built. Nothing constructs a client at import time: callers
 * (a handler's composition root, the CLI, the local control plane, a test) ask for one with
 * the overrides they need, such as the embedded DynamoDB's endpoint.
 */

export type AwsClientOverrides = Pick<
  DynamoDBClientConfig,
  'endpoint' | 'region' | 'credentials' | 'maxAttempts'
>

export function createDocumentClient(overrides: AwsClientOverrides = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(overrides), {
    marshallOptions: { removeUndefinedValues: true },
  })
}
