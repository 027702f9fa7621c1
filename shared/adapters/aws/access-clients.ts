import { IAMClient } from '@aws-sdk/client-iam'
import { SSMClient } from '@aws-sdk/client-ssm'
import { type AwsClientOverrides, perRegion } from './clients.ts'

/**
 * The clients that grant and remove access: IAM (inline policies) and Session Manager
 * (sessions). Only the workflow's tasks and the reconciler build them.
 */

export const createIamClient = (overrides: AwsClientOverrides = {}): IAMClient => new IAMClient(overrides)

/** Session Manager is regional: one client per region, built on first use and kept. */
export const ssmClientsByRegion = (overrides: AwsClientOverrides = {}): ((region: string) => SSMClient) =>
  perRegion((region) => new SSMClient({ ...overrides, region }))
