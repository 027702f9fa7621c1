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
  /** The IAM path, `/` or `/a/b/`. */
  path: string
}

// IAM names: letters, digits and +=,.@_- (64 characters for roles and users); paths: / separated.
const PRINCIPAL_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)((?:\/[\w+=,.@-]+)*)\/([\w+=,.@-]{1,64})$/

/** Parses an IAM role or user ARN; anything else (assumed-role sessions, groups, wildcards) is refused. */
export function parsePrincipalArn(arn: string): IamPrincipal | undefined {
  const match = PRINCIPAL_ARN.exec(arn)
  if (!match) return undefined
  const [, partition, account, kind, path, name] = match
  if (!partition || !account || !kind || !name) return undefined
  return {
    arn,
    partition: partition as Partition,
    account,
    kind: kind as PrincipalKind,
    name,
    path: `${path ?? ''}/`,
  }
}

export const PRINCIPAL_ARN_EXAMPLE = 'arn:aws:iam::111122223333:role/alice-ops'

/** Where keyless's own roles live (infra/): no grant may attach there. */
export const KEYLESS_ROLE_PATH = '/keyless/'

/**
 * Why IAM will not let keyless attach a grant to `principal`, if it will not: IAM Identity
 * Center's roles and service-linked roles refuse inline policies (UnmodifiableEntity), and
 * keyless's own roles are out of bounds by design. Undefined for a principal keyless may use.
 */
export function unmodifiableReason(principal: IamPrincipal): string | undefined {
  if (principal.kind !== 'role') return undefined
  if (principal.path.startsWith('/aws-reserved/sso.amazonaws.com/')) {
    return 'is an IAM Identity Center role: IAM refuses inline policies on it (UnmodifiableEntity); name a role of your own that people assume, e.g. arn:aws:iam::<account>:role/alice-ops'
  }
  if (principal.path.startsWith('/aws-service-role/')) {
    return 'is a service-linked role: only its AWS service may change it (UnmodifiableEntity); name a role people assume'
  }
  if (principal.path.startsWith(KEYLESS_ROLE_PATH)) {
    return `is under ${KEYLESS_ROLE_PATH}, where keyless's own roles live; grants never attach there`
  }
  return undefined
}
