import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  GetAccountAuthorizationDetailsCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam'
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { LocalPolicySimulator } from '../../local/policy-simulator.ts'
import { type AuditTarget, auditAccount, type PolicySimulator } from '../../shared/core/audit/audit.ts'
import { authorizationDetailsSchema, readAuthorization } from '../../shared/core/audit/authorization.ts'
import { mayAllow } from '../../shared/core/audit/reach.ts'
import { runKeyless } from '../kit/cli.ts'
import { organizationConfigObject, specConfigObject } from '../kit/config.ts'

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

const DETAILS_FILE = new URL('../fixtures/audit/authorization-details.json', import.meta.url).pathname
let simulator: LocalPolicySimulator
let details: unknown
let dir: string
beforeAll(async () => {
  simulator = await LocalPolicySimulator.create()
  details = JSON.parse(await readFile(DETAILS_FILE, 'utf8'))
  dir = await mkdtemp(join(tmpdir(), 'keyless-audit-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/**
 * The local simulator, each distinct request judged once: the engine's tests audit the same
 * fixture several ways, and the simulator's answer to a request does not change between them.
 */
const judged = new Map<string, ReturnType<PolicySimulator['judge']>>()
const once: PolicySimulator = {
  judge: (request) => {
    const key = JSON.stringify([
      request.principal.arn,
      request.action,
      request.resource,
      request.resourcePolicy,
    ])
    let decision = judged.get(key)
    if (!decision) {
      decision = simulator.judge(request)
      judged.set(key, decision)
    }
    return decision
  },
}

const audit = (accepted: string[] = [], judge: PolicySimulator = once) =>
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
      'arn:aws:iam::aws:policy/AdministratorAccess (not judged by the simulator: multiple.resource.types)',
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
        return once.judge(request)
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

describe('keyless audit (the command)', () => {
  /** No control plane's data: the instances are npm start's defaults, one per target and region. */
  const env = () => ({ KEYLESS_DATA_DIR: join(dir, 'no-data') })
  const configFile = async (name: string, raw: object) => {
    const file = join(dir, name)
    await writeFile(file, stringify(raw))
    return file
  }

  it('prints {findings, checked} and exits 1 while anyone holds standing access', async () => {
    const config = await configFile('spec.yaml', specConfigObject())
    const { code, stdout, stderr } = await runKeyless(
      ['audit', '--authorization-details', DETAILS_FILE, '--json', '--config', config],
      env(),
    )
    const report = JSON.parse(stdout)
    expect(report.checked).toMatchObject({ account: ACCOUNT, principals: 15, targets: 2, instances: 4 })
    expect(report.findings[0]).toEqual({
      principal: expect.stringMatching(/^arn:aws:iam::111122223333:/),
      account: ACCOUNT,
      target: expect.any(String),
      actions: expect.any(Array),
      via: expect.any(String),
      kind: expect.stringMatching(/^(standing|grant|accepted)$/),
    })
    // The fixture's grant role U0CAROL belongs to nobody in this config: named, for deleting.
    expect(report.orphanGrantRoles).toEqual([arn('role/keyless/grant/U0CAROL')])
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `keyless: ${arn('role/keyless/grant/U0CAROL')} is the grant role of someone the config no longer places here: keyless will not write or clean it; delete it\nkeyless: 8 principal(s) can reach a target's instances without a keyless grant\n`,
    })
  })

  it('exits 0 when every standing access is accepted, and prints a table kind by kind', async () => {
    const raw = specConfigObject()
    raw.audit = { accepted: ['arn:aws:iam::111122223333:role/*', 'arn:aws:iam::111122223333:user/*'] }
    const config = await configFile('accepting.yaml', raw)
    const { code, stdout } = await runKeyless(
      ['audit', '--authorization-details', DETAILS_FILE, '--config', config],
      env(),
    )
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toMatch(
      /^account 111122223333: 15 principals, \d+ candidates judged in \d+ simulations, 2 targets on 4 instances$/,
    )
    expect(lines[1]).toMatch(/^kind +target +principal +actions +via$/)
    expect(lines.slice(2).map((line) => line.split(' ')[0])).not.toContain('standing')
    expect(stdout).toContain('StartSession SendCommand StartAutomationExecution CreateAssociation')
  })

  it('refuses what it cannot read in one line, changing nothing', async () => {
    const config = await configFile('spec-2.yaml', specConfigObject())
    const audit = (args: string[]) => runKeyless(['audit', ...args, '--config', config], env())
    expect((await audit(['--authorization-details', join(dir, 'missing.json')])).stderr).toBe(
      `keyless: ${join(dir, 'missing.json')} does not exist: save it with aws iam get-account-authorization-details > ${join(dir, 'missing.json')}\n`,
    )
    const notDetails = join(dir, 'not-details.json')
    await writeFile(notDetails, JSON.stringify({ RoleDetailList: [{ RoleName: 'x' }] }))
    expect((await audit(['--authorization-details', notDetails])).stderr).toBe(
      `keyless: ${notDetails} is not the output of aws iam get-account-authorization-details: RoleDetailList[0].Arn is missing\n`,
    )
    expect((await audit(['--authorization-details', DETAILS_FILE, '--account', 'staging'])).stderr).toBe(
      'keyless: --account staging is not a configured account (home)\n',
    )
    const organization = await configFile('organization.yaml', organizationConfigObject())
    const member = await runKeyless(['audit', '--account', 'prod', '--config', organization], env())
    expect(member).toMatchObject({ code: 1, stdout: '' })
    expect(member.stderr).toContain(
      'prod is a member account: keyless reads it only through its auditor role, which trusts the scheduled audit alone',
    )
  })
})

describe('keyless audit against AWS (SDK clients mocked)', () => {
  it("reads the account's details page by page, finds the targets' instances, and asks IAM about candidates only", async () => {
    const iam = mockClient(IAMClient)
    const ssm = mockClient(SSMClient)
    try {
      const all = authorizationDetailsSchema.parse(details)
      // Two pages, as IAM pages a large account (the SDK's documents are URL-encoded).
      const encoded = (document: unknown) => encodeURIComponent(JSON.stringify(document))
      const encode = (role: (typeof all.RoleDetailList)[number]) => ({
        ...role,
        AssumeRolePolicyDocument: encoded(role.AssumeRolePolicyDocument),
        RolePolicyList: (role.RolePolicyList ?? []).map((policy) => ({
          ...policy,
          PolicyDocument: encoded(policy.PolicyDocument),
        })),
      })
      iam
        .on(GetAccountAuthorizationDetailsCommand, { Marker: undefined })
        .resolves({
          RoleDetailList: all.RoleDetailList.slice(0, 6).map(encode) as never,
          IsTruncated: true,
          Marker: 'page-2',
        })
        .on(GetAccountAuthorizationDetailsCommand, { Marker: 'page-2' })
        .resolves({
          UserDetailList: all.UserDetailList as never,
          GroupDetailList: all.GroupDetailList as never,
          RoleDetailList: all.RoleDetailList.slice(6) as never,
          Policies: all.Policies as never,
          IsTruncated: false,
        })
      // IAM allows ops-admin only, naming the managed policy that matched.
      iam
        .on(SimulatePrincipalPolicyCommand)
        .callsFake((input: { PolicySourceArn: string; ActionNames: string[] }) => ({
          EvaluationResults: [
            input.PolicySourceArn === arn('role/ops-admin')
              ? {
                  EvalActionName: input.ActionNames[0],
                  EvalDecision: 'allowed',
                  MatchedStatements: [{ SourcePolicyId: 'ssm-everything', SourcePolicyType: 'user-managed' }],
                }
              : { EvalActionName: input.ActionNames[0], EvalDecision: 'implicitDeny' },
          ],
        }))
      ssm.on(DescribeInstanceInformationCommand).resolves({
        InstanceInformationList: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }],
      })
      const config = join(dir, 'aws.yaml')
      await writeFile(config, stringify(specConfigObject()))
      const { code, stdout } = await runKeyless(['audit', '--json', '--config', config], {})
      const report = JSON.parse(stdout)
      expect(code).toBe(1)
      expect(report.findings).toEqual([
        {
          principal: arn('role/ops-admin'),
          account: ACCOUNT,
          target: expect.any(String),
          actions: [
            'ssm:StartSession',
            'ssm:SendCommand',
            'ssm:StartAutomationExecution',
            'ssm:CreateAssociation',
          ],
          via: arn('policy/ssm-everything'),
          kind: 'standing',
        },
        expect.objectContaining({ principal: arn('role/ops-admin') }),
      ])
      const asked = iam.commandCalls(SimulatePrincipalPolicyCommand).map((call) => call.args[0].input)
      expect(new Set(asked.map((input) => input.PolicySourceArn))).not.toContain(arn('user/erin'))
      expect(report.checked.simulations).toBe(asked.length)
      expect(asked[0]?.ContextEntries).toContainEqual({
        ContextKeyName: 'ssm:resourceTag/access-target',
        ContextKeyValues: [expect.any(String)],
        ContextKeyType: 'string',
      })
    } finally {
      iam.restore()
      ssm.restore()
    }
  })
})
