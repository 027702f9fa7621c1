import { z } from 'zod'
import { GRANT_POLICY_PREFIX } from '../access/backend.ts'
import { GRANT_ROLE_PATH } from '../policy/grant-role.ts'

/**
 * An account's IAM as `GetAccountAuthorizationDetails` describes it (the SDK's answer, or the
 * file `aws iam get-account-authorization-details` writes), read into what the audit needs: every
 * user and role with the policies that apply to it — its own inline ones, the managed ones
 * attached to it and, for a user, its groups' — its permissions boundary, and a role's trust.
 * Policy documents come URL-encoded from the SDK and as JSON from the CLI; both are read.
 */

/** A policy as the audit names it: `via` in a finding. */
export interface NamedPolicy {
  /** A managed policy's ARN, or `inline:<role|user|group>/<name>/<policy name>`. */
  id: string
  document: unknown
  /** A keyless grant: an inline `keyless-*` policy, or any policy of a grant role. */
  grant: boolean
}

export interface AuditPrincipal {
  arn: string
  kind: 'user' | 'role'
  name: string
  path: string
  policies: NamedPolicy[]
  boundary?: NamedPolicy
  /** A role's trust policy. */
  trust?: unknown
}

export interface AccountAuthorization {
  principals: AuditPrincipal[]
  /** Attached managed policies whose document the details did not include (left out of the audit). */
  unknownPolicies: string[]
}

const document = z.union([z.string(), z.looseObject({})])
const inline = z.array(z.looseObject({ PolicyName: z.string(), PolicyDocument: document })).nullish()
const attached = z.array(z.looseObject({ PolicyArn: z.string() })).nullish()
const boundary = z.looseObject({ PermissionsBoundaryArn: z.string() }).nullish()

export const authorizationDetailsSchema = z.looseObject({
  UserDetailList: z
    .array(
      z.looseObject({
        Arn: z.string(),
        UserName: z.string(),
        Path: z.string().default('/'),
        UserPolicyList: inline,
        GroupList: z.array(z.string()).nullish(),
        AttachedManagedPolicies: attached,
        PermissionsBoundary: boundary,
      }),
    )
    .default([]),
  GroupDetailList: z
    .array(
      z.looseObject({
        GroupName: z.string(),
        GroupPolicyList: inline,
        AttachedManagedPolicies: attached,
      }),
    )
    .default([]),
  RoleDetailList: z
    .array(
      z.looseObject({
        Arn: z.string(),
        RoleName: z.string(),
        Path: z.string().default('/'),
        AssumeRolePolicyDocument: document.nullish(),
        RolePolicyList: inline,
        AttachedManagedPolicies: attached,
        PermissionsBoundary: boundary,
      }),
    )
    .default([]),
  Policies: z
    .array(
      z.looseObject({
        Arn: z.string(),
        DefaultVersionId: z.string().nullish(),
        PolicyVersionList: z
          .array(
            z.looseObject({
              Document: document.nullish(),
              VersionId: z.string(),
              IsDefaultVersion: z.boolean(),
            }),
          )
          .nullish(),
      }),
    )
    .default([]),
})

export type AuthorizationDetails = z.output<typeof authorizationDetailsSchema>

export function readAuthorization(details: AuthorizationDetails): AccountAuthorization {
  const unknown = new Set<string>()
  const managed = new Map<string, unknown>()
  for (const policy of details.Policies) {
    const version =
      policy.PolicyVersionList?.find((candidate) => candidate.IsDefaultVersion) ??
      policy.PolicyVersionList?.find((candidate) => candidate.VersionId === policy.DefaultVersionId)
    if (version?.Document) managed.set(policy.Arn, readDocument(version.Document))
  }
  const managedPolicies = (list: { PolicyArn: string }[] | null | undefined, grant: boolean): NamedPolicy[] =>
    (list ?? []).flatMap(({ PolicyArn }) => {
      const found = managed.get(PolicyArn)
      if (found === undefined) {
        unknown.add(PolicyArn)
        return []
      }
      return [{ id: PolicyArn, document: found, grant }]
    })
  const inlinePolicies = (
    owner: string,
    list: { PolicyName: string; PolicyDocument: unknown }[] | null | undefined,
    grantRole: boolean,
  ): NamedPolicy[] =>
    (list ?? []).map(({ PolicyName, PolicyDocument }) => ({
      id: `inline:${owner}/${PolicyName}`,
      document: readDocument(PolicyDocument),
      grant: grantRole || PolicyName.startsWith(GRANT_POLICY_PREFIX),
    }))
  const boundaryOf = (arn: string | undefined): NamedPolicy | undefined => {
    if (!arn) return undefined
    const found = managed.get(arn)
    if (found === undefined) {
      unknown.add(arn)
      return undefined
    }
    return { id: arn, document: found, grant: false }
  }
  const groups = new Map(
    details.GroupDetailList.map((group) => [
      group.GroupName,
      [
        ...inlinePolicies(`group/${group.GroupName}`, group.GroupPolicyList, false),
        ...managedPolicies(group.AttachedManagedPolicies, false),
      ],
    ]),
  )
  const users: AuditPrincipal[] = details.UserDetailList.map((user) => {
    const bounded = boundaryOf(user.PermissionsBoundary?.PermissionsBoundaryArn)
    return {
      arn: user.Arn,
      kind: 'user',
      name: user.UserName,
      path: user.Path,
      policies: [
        ...inlinePolicies(`user/${user.UserName}`, user.UserPolicyList, false),
        ...managedPolicies(user.AttachedManagedPolicies, false),
        ...(user.GroupList ?? []).flatMap((group) => groups.get(group) ?? []),
      ],
      ...(bounded ? { boundary: bounded } : {}),
    }
  })
  const roles: AuditPrincipal[] = details.RoleDetailList.map((role) => {
    const grantRole = role.Path === GRANT_ROLE_PATH
    const bounded = boundaryOf(role.PermissionsBoundary?.PermissionsBoundaryArn)
    return {
      arn: role.Arn,
      kind: 'role',
      name: role.RoleName,
      path: role.Path,
      policies: [
        ...inlinePolicies(`role/${role.RoleName}`, role.RolePolicyList, grantRole),
        ...managedPolicies(role.AttachedManagedPolicies, grantRole),
      ],
      ...(bounded ? { boundary: bounded } : {}),
      ...(role.AssumeRolePolicyDocument ? { trust: readDocument(role.AssumeRolePolicyDocument) } : {}),
    }
  })
  return { principals: [...users, ...roles], unknownPolicies: [...unknown].sort() }
}

/** A policy document as the SDK (URL-encoded JSON) or the CLI (JSON) gives it. */
function readDocument(value: unknown): unknown {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(decodeURIComponent(value))
  } catch {
    return JSON.parse(value)
  }
}
