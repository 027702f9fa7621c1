import { isDeepStrictEqual } from 'node:util'
import type { TrustDocument } from '../policy/grant-role.ts'
import { GRANT_ROLE_MAX_SESSION_SECONDS } from '../policy/grant-role.ts'

/**
 * What to do about a person's grant role before a grant's policy goes on it, from what IAM says
 * of the role now. Pure: the backend reads the role, asks this, and does the one step.
 */

/** The role as IAM describes it (GetRole), its trust already decoded from IAM's URL encoding. */
export type GrantRoleFound =
  | { exists: false }
  | { exists: true; boundaryArn: string | undefined; trust: unknown; tags: Record<string, string> }

/** What the role must be: a `placeGrant` placement's principal and grant role. */
export interface GrantRoleWanted {
  roleArn: string
  /** The keyless grant boundary's ARN in the role's account. */
  boundary: string
  trust: TrustDocument
  /** Tags the role carries (the person's); other tags someone put on it are left alone. */
  tags: Record<string, string>
}

export type GrantRoleStep =
  | {
      kind: 'create'
      boundaryArn: string
      trust: TrustDocument
      tags: Record<string, string>
      maxSessionSeconds: number
    }
  /** Only what differs: a trust to replace, tags to set (a role made before keyless tagged). */
  | { kind: 'update'; trust?: TrustDocument; tags?: Record<string, string> }
  | { kind: 'ready' }
  /** Never written: the role is not what keyless made, and writing would widen or hide that. */
  | { kind: 'refuse'; reason: string }

export function grantRoleStep(wanted: GrantRoleWanted, found: GrantRoleFound): GrantRoleStep {
  if (!found.exists) {
    return {
      kind: 'create',
      boundaryArn: wanted.boundary,
      trust: wanted.trust,
      tags: wanted.tags,
      maxSessionSeconds: GRANT_ROLE_MAX_SESSION_SECONDS,
    }
  }
  // A grant role without the keyless boundary (lifted, or swapped for another) could do more
  // than a grant allows once a policy is on it: keyless refuses rather than repairs, since who
  // changed it, and why, is for a person to find out. The agent role could not write it anyway.
  if (found.boundaryArn !== wanted.boundary) {
    const now =
      found.boundaryArn === undefined ? 'has no permissions boundary' : `is bounded by ${found.boundaryArn}`
    return {
      kind: 'refuse',
      reason: `${wanted.roleArn} ${now}, not ${wanted.boundary}: it was changed outside keyless, which will not put a grant on it; restore the boundary, or delete the role and keyless creates it again`,
    }
  }
  // A changed trust is the config's doing (a person's new principal or Identity Center user):
  // the config is the authority on who the role belongs to.
  const trust = isDeepStrictEqual(found.trust, wanted.trust) ? undefined : wanted.trust
  const tagged = Object.entries(wanted.tags).every(([key, value]) => found.tags[key] === value)
  if (!trust && tagged) return { kind: 'ready' }
  return { kind: 'update', ...(trust ? { trust } : {}), ...(tagged ? {} : { tags: wanted.tags }) }
}
