/** The few ARN shapes keyless reasons about: the IAM principals grants attach to, and partitions. */

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov'

export const ACCOUNT_ID_PATTERN = /^\d{12}$/
export const REGION_PATTERN = /^[a-z]{2}(?:-gov)?-[a-z]+-\d{1,2}$/

export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

export type PrincipalKind = 'role' | 'user'

export interface IamPrincipal {
  arn: string
  partition: Partition
  account: string
  kind: PrincipalKind
  /** The name alone, without the path: what IAM's Put*Policy calls take. */
  name: string
}

// IAM names: letters, digits and +=,.@_- (64 characters for roles and users); paths: / separated.
const PRINCIPAL_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)((?:\/[\w+=,.@-]+)*)\/([\w+=,.@-]{1,64})$/

/** Parses an IAM role or user ARN; anything else (assumed-role sessions, groups, wildcards) is refused. */
export function parsePrincipalArn(arn: string): IamPrincipal | undefined {
  const match = PRINCIPAL_ARN.exec(arn)
  if (!match) return undefined
  const [, partition, account, kind, , name] = match
  if (!partition || !account || !kind || !name) return undefined
  return {
    arn,
    partition: partition as Partition,
    account,
    kind: kind as PrincipalKind,
    name,
  }
}

export const PRINCIPAL_ARN_EXAMPLE = 'arn:aws:iam::111122223333:role/alice-ops'
