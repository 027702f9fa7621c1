import { IAMClient } from '@aws-sdk/client-iam'
import { SSMClient } from '@aws-sdk/client-ssm'
import type { AwsClientOverrides } from './clients.ts'

/**
 * The clients that grant and remove access: IAM (inline policies) and Session Manager
 * (sessions). Only the workflow's tasks and the reconciler build them.
 */

export const createIamClient = (overrides: AwsClientOverrides = {}): IAMClient => new IAMClient(overrides)

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
