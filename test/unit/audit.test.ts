import { readFile } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { LocalPolicySimulator } from '../../local/policy-simulator.ts'
import { type AuditTarget, auditAccount, type PolicySimulator } from '../../shared/core/audit/audit.ts'
import { authorizationDetailsSchema, readAuthorization } from '../../shared/core/audit/authorization.ts'
import { mayAllow } from '../../shared/core/audit/reach.ts'

/**
 * The standing-access audit over seeded authorization details (test/fixtures/audit/README.md):
 * every hole found, no decoy reported, keyless's own grants shown as grants, the accepted one
 * as accepted; judged by the local stand-in for IAM's simulator.
 */

const ACCOUNT = '111122223333'
const arn = (name: string) => `arn:aws:iam::${ACCOUNT}:${name}`
const targets: AuditTarget[] = [
  {
    name: 'prod-db',
    tagKey: 'access-target',
    tagValue: 'prod-db',
    instances: [
      { instanceId: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
      { instanceId: 'i-0aaaaaaaaaaaaaaa2', region: 'eu-west-1' },
      { instanceId: 'i-0aaaaaaaaaaaaaaa3', region: 'us-east-1' },
    ],
  },
  {
    name: 'dev-web',
    tagKey: 'access-target',
    tagValue: 'dev-web',
    instances: [{ instanceId: 'i-0bbbbbbbbbbbbbbb1', region: 'eu-west-1' }],
  },
]

let simulator: LocalPolicySimulator
let details: unknown
beforeAll(async () => {
  simulator = await LocalPolicySimulator.create()
  details = JSON.parse(
    await readFile(new URL('../fixtures/audit/authorization-details.json', import.meta.url), 'utf8'),
  )
})

const audit = (accepted: string[] = [], judge: PolicySimulator = simulator) =>
  auditAccount(
    {
      account: ACCOUNT,
      partition: 'aws',
      authorization: readAuthorization(authorizationDetailsSchema.parse(details)),
      targets,
      accepted,
    },
    judge,
  )

describe('keyless audit (the engine)', () => {
  it('finds every seeded hole on prod-db, with the policy that opens it, and reports no decoy', async () => {
    const { findings } = await audit([arn('role/break-glass-admin')])
    const onProdDb = new Map(
      findings
        .filter((finding) => finding.target === 'prod-db')
        .map((finding) => [finding.principal, finding]),
    )
    expect([...onProdDb.keys()].sort()).toEqual(
      [
        'role/keyless/grant/U0CAROL',
        'role/alice-ops',
        'role/bastion-replacement',
        'role/break-glass-admin',
        'role/ci-deployer',
        'role/db-operator',
        'role/ops-admin',
        'user/carol',
        'user/dave',
      ]
        .map(arn)
        .sort(),
    )
    expect(onProdDb.get(arn('role/ops-admin'))).toMatchObject({
      kind: 'standing',
      via: arn('policy/ssm-everything'),
      actions: [
        'ssm:StartSession',
        'ssm:SendCommand',
        'ssm:StartAutomationExecution',
        'ssm:CreateAssociation',
      ],
    })
    expect(onProdDb.get(arn('user/carol'))).toMatchObject({
      kind: 'standing',
      via: 'inline:group/support/ssh-anywhere',
      actions: ['ec2-instance-connect:SendSSHPublicKey'],
    })
    expect(onProdDb.get(arn('role/ci-deployer'))?.actions).toHaveLength(8) // NotAction iam:*: every way in
    expect(onProdDb.get(arn('role/bastion-replacement'))?.via).toBe(
      'inline:role/bastion-replacement/sessions',
    )
    expect(onProdDb.get(arn('user/dave'))).toMatchObject({
      kind: 'standing',
      actions: ['ssm:StartSession'],
      via: `assume ${arn('role/db-operator')} → inline:role/db-operator/prod-db-sessions`,
    })
    // keyless's own: a live grant's policy, a grant role and the way to it — expected, not holes.
    expect(onProdDb.get(arn('role/alice-ops'))).toMatchObject({
      kind: 'grant',
      via: 'inline:role/alice-ops/keyless-g-7kq2m9x4ab',
    })
    expect(onProdDb.get(arn('role/keyless/grant/U0CAROL'))?.kind).toBe('grant')
    // Accepted, and shown with everything it can do. (The local stand-in cannot judge OpenTunnel:
    // its data lists the action's resource type twice. That request is shown as not judged.)
    const admin = onProdDb.get(arn('role/break-glass-admin'))
    expect(admin).toMatchObject({
      kind: 'accepted',
      actions: expect.arrayContaining(['ec2-instance-connect:OpenTunnel']),
    })
    expect(admin?.via).toBe(
      'arn:aws:iam::aws:policy/AdministratorAccess (not judged by the simulator: {"message":"multiple.resource.types"})',
    )
  })

  it('a tag condition for another target is a hole there only', async () => {
    const { findings } = await audit()
    const devWebOperator = findings.filter((finding) => finding.principal === arn('role/dev-web-operator'))
    expect(devWebOperator.map((finding) => finding.target)).toEqual(['dev-web'])
    // Without audit.accepted, the admin is a hole like any other.
    expect(findings.find((finding) => finding.principal === arn('role/break-glass-admin'))?.kind).toBe(
      'standing',
    )
  })

  it('asks the simulator about candidates only: the cheap look skips whoever names no way in', async () => {
    const asked = new Set<string>()
    const counting: PolicySimulator = {
      judge: (request) => {
        asked.add(request.principal.arn)
        return simulator.judge(request)
      },
    }
    const { checked } = await audit([], counting)
    for (const never of ['user/erin', 'role/describer']) expect(asked.has(arn(never)), never).toBe(false)
    expect(checked).toMatchObject({
      account: ACCOUNT,
      principals: 15,
      targets: 2,
      instances: 4,
      unknownPolicies: [],
    })
    expect(checked.candidates).toBe(asked.size)
    expect(checked.simulations).toBeGreaterThan(0)
  })

  it('a request the simulator cannot judge is reported, never dropped', async () => {
    const unsure: PolicySimulator = {
      judge: async () => ({ allowed: false, allowedBy: [], unjudged: 'condition key not known' }),
    }
    const { findings } = await audit([], unsure)
    const expired = findings.find((finding) => finding.principal === arn('role/expired-ops'))
    expect(expired).toMatchObject({ kind: 'standing' })
    expect(expired?.via).toContain('not judged by the simulator: condition key not known')
  })
})

describe('the cheap look (reach.ts)', () => {
  it('reads Action and NotAction with IAM wildcards, case-insensitive; Deny never allows', () => {
    const allow = (statement: object) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Resource: '*', ...statement }],
    })
    expect(mayAllow(allow({ Action: 'SSM:start*' }), 'ssm:StartSession')).toBe(true)
    expect(mayAllow(allow({ Action: 'ssm:Start?ession' }), 'ssm:StartSession')).toBe(true)
    expect(mayAllow(allow({ Action: ['s3:*', 'ssm:Get*'] }), 'ssm:StartSession')).toBe(false)
    expect(mayAllow(allow({ NotAction: 'iam:*' }), 'ssm:SendCommand')).toBe(true)
    expect(mayAllow(allow({ NotAction: 'ssm:*' }), 'ssm:SendCommand')).toBe(false)
    expect(mayAllow({ Statement: { Effect: 'Deny', Action: '*', Resource: '*' } }, 'ssm:StartSession')).toBe(
      false,
    )
    expect(mayAllow('not a policy', 'ssm:StartSession')).toBe(false)
  })
})
