import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { IAMClient } from '@aws-sdk/client-iam'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { SFNClient } from '@aws-sdk/client-sfn'
import { SSMClient } from '@aws-sdk/client-ssm'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/**
 * The one place AWS clients are built. Nothing constructs a client at import time: callers
 * (a handler's composition root, the CLI, the local control plane, a test) ask for one with
 * the overrides they need, such as the embedded DynamoDB's endpoint.
 */

export interface AwsClientOverrides {
  endpoint?: string
  region?: string
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  maxAttempts?: number
}

export function createDocumentClient(overrides: AwsClientOverrides = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(overrides), {
    marshallOptions: { removeUndefinedValues: true },
  })
}

export const createIamClient = (overrides: AwsClientOverrides = {}): IAMClient => new IAMClient(overrides)

export const createSfnClient = (overrides: AwsClientOverrides = {}): SFNClient => new SFNClient(overrides)

export const createLambdaClient = (overrides: AwsClientOverrides = {}): LambdaClient =>
  new LambdaClient(overrides)

export const createSecretsClient = (overrides: AwsClientOverrides = {}): SecretsManagerClient =>
  new SecretsManagerClient(overrides)

/** Session Manager is regional: one client per region, built on first use and kept. */
export function ssmClientsByRegion(overrides: AwsClientOverrides = {}): (region: string) => SSMClient {
  const clients = new Map<string, SSMClient>()
  return (region) => {
    let client = clients.get(region)
    if (!client) {
      client = new SSMClient({ ...overrides, region })
      clients.set(region, client)
    }
    return client
  }
}
