import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { SFNClient } from '@aws-sdk/client-sfn'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/**
 * The one place AWS clients are built (the IAM and Session Manager clients that grant and
 * remove access are in access-clients.ts, so that functions which never touch them, such as
 * the Slack function, do not load them at cold start). Nothing constructs a client at import time: callers
 * (a handler's composition root, the CLI, the local control plane, a test) ask for one with
 * the overrides they need, such as the embedded DynamoDB's endpoint.
 */

export interface AwsClientOverrides {
  endpoint?: string
  region?: string
  credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
    /** A provider the SDK calls, and calls again near the expiration it returns. */
    | (() => Promise<{
        accessKeyId: string
        secretAccessKey: string
        sessionToken?: string | undefined
        expiration?: Date | undefined
      }>)
  maxAttempts?: number
}

export function createDocumentClient(overrides: AwsClientOverrides = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(overrides), {
    marshallOptions: { removeUndefinedValues: true },
  })
}

export const createSfnClient = (overrides: AwsClientOverrides = {}): SFNClient => new SFNClient(overrides)

export const createLambdaClient = (overrides: AwsClientOverrides = {}): LambdaClient =>
  new LambdaClient(overrides)

/** Clients by a key (a region, an account), one per key, built on first use and kept. */
export function perKey<Client>(build: (key: string) => Client): (key: string) => Client {
  const clients = new Map<string, Client>()
  return (key) => {
    let client = clients.get(key)
    if (!client) {
      client = build(key)
      clients.set(key, client)
    }
    return client
  }
}

export const createSecretsClient = (overrides: AwsClientOverrides = {}): SecretsManagerClient =>
  new SecretsManagerClient(overrides)
