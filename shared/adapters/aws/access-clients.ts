import { IAMClient } from '@aws-sdk/client-iam'
import { SSMClient } from '@aws-sdk/client-ssm'
import { type AwsClientOverrides, perRegion } from './clients.ts'

/**
 * The clients that grant and remove access: IAM (inline policies) and Session Manager
 * (sessions). Only the workflow's tasks, the reconciler and an operator's CLI build them.
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
  perRegion((region) => new SSMClient({ ...ONE_ATTEMPT, ...overrides, region }))
