import { parse } from 'yaml'
import { parseConfig } from '../../shared/core/config/load.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'

/** The docs/contract.md example, as YAML: the baseline every test config starts from. */
export const SPEC_CONFIG_YAML = `
account: "111122223333"
region: eu-west-1
regions: [eu-west-1, us-east-1]
slack:
  securityChannel: C0SECURITY
  approvalChannel: C0APPROVALS
defaults:
  tagKey: access-target
  maxDuration: 4h
  approvalTimeout: 30m
alerts:
  requireMfa: true
  trustedMfaSessionIssuers: []
  allowedSourceCidrs: ["203.0.113.0/24", "2001:db8::/32"]
targets:
  prod-db:
    description: Production PostgreSQL hosts
    tagValue: prod-db
    access: [shell, port-forward, ssh]
    ports: [5432]
    osUser: ec2-user
    maxDuration: 2h
    approvers: [U0MANAGER1, U0MANAGER2]
    approvals: 1
  dev-web:
    access: [shell]
    maxDuration: 8h
    autoApprove: true
people:
  U0ALICE:
    principal: arn:aws:iam::111122223333:role/alice-ops
    manager: U0BOB
`

export const ALICE_ROLE = 'arn:aws:iam::111122223333:role/alice-ops'

/** A fresh plain-object copy of the SPEC config, to be changed and serialised per test. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary paths of the raw config
export const specConfigObject = (): Record<string, any> => parse(SPEC_CONFIG_YAML)

export const MEMBER_ACCOUNT = '444455556666'

/**
 * The contract example inside an organization: member account `prod` (eu-west-1) with its own
 * target `batch` (shell), Identity Center, and Carol, who signs in through it.
 */
export function organizationConfigObject(): ReturnType<typeof specConfigObject> {
  const raw = specConfigObject()
  raw.organization = { id: 'o-a1b2c3d4e5', deployTo: ['ou-ab12-prodxxxx'] }
  raw.accounts = { prod: { id: MEMBER_ACCOUNT, regions: ['eu-west-1'] } }
  raw.identityCenter = { permissionSet: 'KeylessAccess' }
  raw.targets.batch = { account: 'prod', access: ['shell'], approvers: ['U0MANAGER1'] }
  raw.people.U0CAROL = { identityCenterUser: 'carol@example.com', manager: 'U0BOB' }
  return raw
}

/** Parses a config object the way a file would be: JSON is YAML, so this is the real path. */
export const configFrom = (object: unknown): KeylessConfig =>
  parseConfig(JSON.stringify(object), 'test config')

export const specConfig = (): KeylessConfig => parseConfig(SPEC_CONFIG_YAML, 'spec config')
