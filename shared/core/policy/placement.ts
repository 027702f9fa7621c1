import type { AccountConfig, KeylessConfig, PersonConfig, TargetConfig } from '../config/schema.ts'
import {
  GRANT_ROLE_PERSON_TAG,
  grantBoundaryArn,
  grantRoleArn,
  grantRoleTrust,
  type TrustDocument,
} from './grant-role.ts'

/** Where a person's grant on a target goes. */
export interface Placement {
  account: AccountConfig
  /** The person's own principal when it lives in the target's account, else their grant role there. */
  principal: string
  /** For a grant role: it is created on first use with this trust and these tags, bounded by `boundary`. */
  grantRole?: { trust: TrustDocument; boundary: string; tags: Record<string, string> }
}

/**
 * The policy goes on the person's own `principal` when that principal is in the target's
 * account; otherwise on `role/keyless/grant/<Slack user id>` in that account, trusting only
 * them: their principal by its exact ARN, or their own Identity Center sessions.
 */
export function placeGrant(config: KeylessConfig, person: PersonConfig, target: TargetConfig): Placement {
  const account = target.account
  if (person.principal?.split(':')[4] === account.id) return { account, principal: person.principal }
  const holder =
    person.principal !== undefined
      ? ({ kind: 'principal', arn: person.principal } as const)
      : ({
          kind: 'identity-center',
          // The config refuses an identityCenterUser without identityCenter.
          permissionSet: config.identityCenter?.permissionSet ?? '',
          user: person.identityCenterUser ?? '',
        } as const)
  return {
    account,
    principal: grantRoleArn(config.partition, account.id, person.slackUserId),
    grantRole: {
      trust: grantRoleTrust(config.partition, account.id, holder),
      boundary: grantBoundaryArn(config.partition, account.id),
      tags: { [GRANT_ROLE_PERSON_TAG]: person.slackUserId },
    },
  }
}

/**
 * Every grant role the config can place a grant on, once each: a person's, in each account where
 * some target puts their grants on one (the home account's included).
 */
export function placedGrantRoles(
  config: KeylessConfig,
): { roleArn: string; slackUserId: string; account: string }[] {
  const roles = new Map<string, { roleArn: string; slackUserId: string; account: string }>()
  for (const person of config.people.values()) {
    for (const target of config.targets.values()) {
      const placement = placeGrant(config, person, target)
      if (placement.grantRole) {
        roles.set(placement.principal, {
          roleArn: placement.principal,
          slackUserId: person.slackUserId,
          account: placement.account.id,
        })
      }
    }
  }
  return [...roles.values()]
}
