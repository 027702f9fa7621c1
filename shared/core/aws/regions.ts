import type { Partition } from './arn.ts'

/**
 * The regions of each partition keyless supports, so a config naming `eu-west-9` or
 * `us-east1` is refused when it is validated, not when CloudFormation or IAM meets it. Kept
 * equal to aws-cdk-lib's region facts by a test (test/unit/config.test.ts): a region AWS opens
 * later needs the dependency updated and this list with it.
 */
export const REGIONS: Readonly<Record<Partition, readonly string[]>> = {
  aws: [
    'af-south-1',
    'ap-east-1',
    'ap-east-2',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
    'ap-southeast-5',
    'ap-southeast-6',
    'ap-southeast-7',
    'ca-central-1',
    'ca-west-1',
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'il-central-1',
    'me-central-1',
    'me-south-1',
    'me-west-1',
    'mx-central-1',
    'sa-east-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
}

/**
 * Where each partition's global services (IAM among them) record their calls in CloudTrail, and
 * so where EventBridge delivers them: keyless watches this region even when no target is in it.
 */
export const GLOBAL_EVENTS_REGION: Readonly<Record<Partition, string>> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
}

/**
 * Where the member accounts' StackSet deploys: every member region, the home region (where a
 * member's IAM pieces are made, whether or not a target is there) and the partition's
 * global-events region (where IAM's calls reach EventBridge).
 */
export function memberAccountRegions(config: {
  partition: Partition
  region: string
  accounts: ReadonlyMap<string, { regions: string[] }>
}): string[] {
  const members = [...config.accounts.values()].flatMap((account) => account.regions)
  return [...new Set([...members, config.region, GLOBAL_EVENTS_REGION[config.partition]])].sort()
}
