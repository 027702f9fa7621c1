import { IAMClient } from '@aws-sdk/client-iam'
import { SSMClient } from '@aws-sdk/client-ssm'
import { STSClient } from '@aws-sdk/client-sts'
import type { Partition } from '../../core/aws/arn.ts'
import { agentCredentials } from './agent-credentials.ts'
import { type AwsClientOverrides, perKey } from './clients.ts'

/**
 * The clients that grant and remove access: IAM (inline policies, grant roles) and Session
 * Manager (sessions). Only the workflow's tasks, the reconciler and an operator's CLI build them.
 *
 * One retry layer: these clients make one attempt (`maxAttempts: 1`), and a throttled or
 * transient failure becomes AccessBackendRetryable, which the state machine retries with
 * exponential backoff and full jitter (6 attempts attaching, 8 removing) and the reconciler
 * retries 4 times within a pass. The SDK's own 3 attempts under those would multiply them.
 */
const ONE_ATTEMPT = { maxAttempts: 1 }

export const createIamClient = (overrides: AwsClientOverrides = {}): IAMClient =>
  new IAMClient({ ...ONE_ATTEMPT, ...overrides })

/** Session Manager is regional: one client per region, built on first use and kept. */
export const ssmClientsByRegion = (overrides: AwsClientOverrides = {}): ((region: string) => SSMClient) =>
  perKey((region) => new SSMClient({ ...ONE_ATTEMPT, ...overrides, region }))

/** The IAM and Session Manager clients of one account. */
export interface AccessClients {
  iam: IAMClient
  ssm: (region: string) => SSMClient
}

/**
 * The access clients of each account, built on first use and kept: the home account's with the
 * function's own credentials, a member account's as its agent role (`role/keyless/keyless-agent`,
 * the only way keyless acts there; see agent-credentials.ts).
 */
export function accessClientsByAccount(
  home: { account: string; partition: Partition },
  overrides: AwsClientOverrides = {},
): (account: string) => AccessClients {
  const homeClients = { iam: createIamClient(overrides), ssm: ssmClientsByRegion(overrides) }
  let sts: STSClient | undefined
  const memberClients = perKey((account): AccessClients => {
    sts ??= new STSClient({ ...ONE_ATTEMPT, ...overrides })
    const credentials = agentCredentials(sts, home.partition, account)
    const { credentials: _own, ...rest } = overrides
    return {
      iam: createIamClient({ ...rest, credentials }),
      ssm: ssmClientsByRegion({ ...rest, credentials }),
    }
  })
  return (account) => (account === home.account ? homeClients : memberClients(account))
}
