import { KEYLESS_ROLE_PATH } from '../aws/arn.ts'
import type { KeylessConfig } from '../config/schema.ts'
import { AGENT_ROLE_NAME, agentRoleArn } from '../policy/agent-role.ts'
import { AUDITOR_ROLE_NAME } from '../policy/auditor-role.ts'
import { SHELL_DOCUMENT } from '../policy/grant-policy.ts'
import { grantBoundaryArn } from '../policy/grant-role.ts'
import { placedGrantRoles } from '../policy/placement.ts'
import type { AccessEvent } from './record.ts'

/**
 * keyless's own pieces, as CloudTrail names them, and keyless's own hands: what KEYLESS_TAMPERED
 * watches. A piece is known by its name in an account the config names — EventBridge rules and
 * Session documents begin `keyless-` (the Session Manager preferences document too), the grant
 * roles are the config's people's, the agent and auditor roles and the grant boundary have fixed names; the
 * heartbeat parameter is always keyless's. keyless itself acts only through its home stacks'
 * roles (`role/keyless/Keyless*`) and, in a member account, that account's agent role.
 */

/** Every EventBridge rule keyless makes is named with this prefix (infra/ sets the names). */
export const KEYLESS_RULE_PREFIX = 'keyless-'
export const KEYLESS_RULE_NAMES = {
  /** The rule that delivers watched events (home), or forwards them (other regions, member accounts). */
  watched: `${KEYLESS_RULE_PREFIX}watched-events`,
  reconciler: `${KEYLESS_RULE_PREFIX}reconciler`,
  audit: `${KEYLESS_RULE_PREFIX}audit`,
} as const
/** Session documents keyless makes (`keyless-<target>-port-<port>`). */
const KEYLESS_DOCUMENT_PREFIX = 'keyless-'
/** The home stacks' roles: CloudFormation names each `<stack>-…`, and every stack is `Keyless…`. */
const OWN_STACK_ROLE_PREFIX = 'Keyless'
/** A deploy: CloudFormation acting for the deployer, or StackSets' role in a member account. */
const DEPLOYERS = {
  invokedBy: 'cloudformation.amazonaws.com',
  stackSetsRole: ':role/aws-service-role/member.org.stacksets.cloudformation.amazonaws.com/',
}

export interface KeylessPieces {
  /** Whether the event changes one of keyless's pieces, in an account keyless runs in. */
  touchesPiece(event: AccessEvent): boolean
  /** Whether keyless itself made the call. */
  byKeyless(event: AccessEvent): boolean
  /** Whether a CloudFormation deploy made it (expected during `cdk deploy`, still reported). */
  byDeploy(event: AccessEvent): boolean
}

export function keylessPieces(config: KeylessConfig): KeylessPieces {
  const home = config.account
  const members = new Set([...config.accounts.values()].map((account) => account.id))
  const grantRoleNames = new Map<string, Set<string>>()
  for (const role of placedGrantRoles(config)) {
    const names = grantRoleNames.get(role.account) ?? new Set<string>()
    names.add(role.slackUserId)
    grantRoleNames.set(role.account, names)
  }
  const ownRolePrefix = `arn:${config.partition}:iam::${home}:role${KEYLESS_ROLE_PATH}${OWN_STACK_ROLE_PREFIX}`
  return {
    touchesPiece(event) {
      const account = event.account ?? home
      if (account !== home && !members.has(account)) return false
      const subject = event.subject ?? ''
      switch (event.eventSource) {
        case 'events.amazonaws.com':
          return subject.startsWith(KEYLESS_RULE_PREFIX)
        case 'ssm.amazonaws.com': {
          if (event.kind === 'heartbeat') return true
          // A document may be named by its ARN.
          const name = subject.split(':document/').at(-1) ?? ''
          return name.startsWith(KEYLESS_DOCUMENT_PREFIX) || name === SHELL_DOCUMENT
        }
        case 'iam.amazonaws.com':
          return (
            subject === grantBoundaryArn(config.partition, account) ||
            subject === AGENT_ROLE_NAME ||
            subject === AUDITOR_ROLE_NAME ||
            (grantRoleNames.get(account)?.has(subject) ?? false)
          )
        default:
          return false
      }
    },
    byKeyless({ identity, account }) {
      const issuer = identity.issuer ?? ''
      if (issuer.startsWith(ownRolePrefix)) return true
      return account !== null && members.has(account) && issuer === agentRoleArn(config.partition, account)
    },
    byDeploy({ identity }) {
      return (
        identity.invokedBy === DEPLOYERS.invokedBy ||
        (identity.issuer ?? '').includes(DEPLOYERS.stackSetsRole)
      )
    },
  }
}
