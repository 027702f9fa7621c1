import { performance } from 'node:perf_hooks'
import {
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam'
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { mockClient } from 'aws-sdk-client-mock'
import { AwsAccessBackend } from '../shared/adapters/aws/access-backend.ts'
import { accessClientsByAccount } from '../shared/adapters/aws/access-clients.ts'
import { systemClock } from '../shared/core/clock.ts'
import { loadConfigFile } from '../shared/core/config/load.ts'
import { approveRequest, revokeGrant, submitRequest } from '../shared/core/grants/control.ts'
import { newClientToken } from '../shared/core/grants/grant.ts'
import { attachAccess } from '../shared/core/grants/tasks.ts'
import { buildGrantPolicy, INLINE_POLICY_QUOTA, policySize } from '../shared/core/policy/grant-policy.ts'
import { configFrom, organizationConfigObject } from '../test/kit/config.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { pendingGrant } from '../test/kit/grants.ts'
import { RecordingNotifier } from '../test/kit/notifier.ts'
import { startPlane } from '../test/kit/plane.ts'
import { median, percentile, printTable } from './report.ts'

/**
 * A grant in a member account, for an Identity Center person (Carol, target `batch`):
 * - approve → policy attached on her grant role, created on first use each time (local plane, 20);
 * - the AWS calls one attach costs, first use and after (the AWS adapter over mocked SDK clients,
 *   the agent role's AssumeRole counted as the credentials provider would make it);
 * - the policy's size for the member targets of the shipped organization example.
 */
export async function memberAccountGrants(): Promise<void> {
  await approveToAttached()
  await callsPerAttach()
  await memberPolicySizes()
}

async function approveToAttached(rounds = 20): Promise<void> {
  const plane = await startPlane(configFrom(organizationConfigObject()))
  const attachedAt = new Map<string, number>()
  const attach = plane.backend.attachPolicy.bind(plane.backend)
  plane.backend.attachPolicy = async (principal, policyName, policy) => {
    await attach(principal, policyName, policy)
    attachedAt.set(policyName, performance.now())
  }
  try {
    const lags: number[] = []
    for (let round = 0; round < rounds; round++) {
      plane.backend.grantRoles.clear() // every round is a first use
      const { grant } = await submitRequest(plane.control, {
        clientToken: newClientToken(),
        target: 'batch',
        requester: 'U0CAROL',
        durationSeconds: 600,
        reason: 'bench',
      })
      await plane.until(grant.id, (current) => current.taskToken !== undefined)
      const approvedAt = performance.now()
      await approveRequest(plane.control, grant.id, { kind: 'slack', id: 'U0MANAGER1' })
      await plane.untilStatus(grant.id, 'ACTIVE')
      const attached = attachedAt.get(`keyless-${grant.id}`)
      if (attached === undefined || !plane.backend.grantRoles.has(grant.principal)) {
        throw new Error(`${grant.id} was not attached on a new grant role`)
      }
      lags.push(attached - approvedAt)
      // Ended now, so no execution is left waiting out its ten minutes.
      await revokeGrant(plane.control, grant.id, { kind: 'slack', id: 'U0CAROL' }, 'bench')
      await plane.finished(grant.id)
    }
    console.log(
      `\nmember account, approve → attached on a first-use grant role (local, ${rounds} grants): p50 ${median(lags).toFixed(1)} ms, p95 ${percentile(lags, 95).toFixed(1)} ms`,
    )
  } finally {
    await plane.close()
  }
}

async function callsPerAttach(): Promise<void> {
  const config = configFrom(organizationConfigObject())
  const iam = mockClient(IAMClient)
  const sts = mockClient(STSClient)
  const ssm = mockClient(SSMClient)
  const db = await startEmbeddedDynamo('bench-member-account')
  try {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAAGENT',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(Date.now() + 15 * 60_000),
      },
    })
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] })
    // IAM as it would answer: the role is missing until created, then read back as created.
    let created: CreateRoleCommand['input'] | undefined
    let tags: TagRoleCommand['input']['Tags'] = []
    iam.on(GetRoleCommand).callsFake(() => {
      if (!created) throw new NoSuchEntityException({ message: 'no such role', $metadata: {} })
      return {
        Role: {
          ...created,
          Arn: `arn:aws:iam::${config.accounts.get('prod')?.id}:role${created.Path}${created.RoleName}`,
          RoleId: 'AROAGRANTROLE',
          CreateDate: new Date(),
          AssumeRolePolicyDocument: encodeURIComponent(created.AssumeRolePolicyDocument ?? ''),
          Tags: tags,
          PermissionsBoundary: {
            PermissionsBoundaryType: 'Policy',
            PermissionsBoundaryArn: created.PermissionsBoundary,
          },
        },
      }
    })
    iam.on(CreateRoleCommand).callsFake((input: CreateRoleCommand['input']) => {
      created = input
      return {}
    })
    iam.on(TagRoleCommand).callsFake((input: TagRoleCommand['input']) => {
      tags = input.Tags
      return {}
    })
    iam.on(PutRolePolicyCommand).resolves({})
    const deps = {
      config,
      store: db.store,
      backend: new AwsAccessBackend(accessClientsByAccount(config, { region: config.region })),
      notifier: new RecordingNotifier(),
      clock: systemClock,
      warn: () => {},
      workflow: { resume: async () => {}, reject: async () => {} },
    }
    const rows: string[][] = []
    for (const use of ['first use (role created)', 'later grant (role ready)']) {
      iam.resetHistory()
      sts.resetHistory()
      const grant = pendingGrant(
        config,
        { breakGlass: true, requester: 'U0CAROL', target: 'batch' },
        new Date(),
      )
      await db.store.create(grant)
      await attachAccess(deps, { grantId: grant.id })
      // The mock replaces send, so signing never runs: ask each IAM call's client for the
      // credentials it would sign with, which is when the agent role is assumed (once, then kept).
      for (const call of iam.calls()) {
        await (call.thisValue as { config: { credentials: () => Promise<unknown> } }).config.credentials()
      }
      const iamCalls = iam.calls().map((call) => call.args[0].constructor.name.replace(/Command$/, ''))
      const stsCalls = sts.calls().length
      rows.push([use, String(iamCalls.length + stsCalls), `${stsCalls} AssumeRole; ${iamCalls.join(', ')}`])
    }
    printTable(['member-account attach', 'IAM + STS calls', 'which'], rows)
    console.log('target: ≤ 6 IAM/STS calls to attach')
  } finally {
    iam.restore()
    sts.restore()
    ssm.restore()
    await db.close()
  }
}

async function memberPolicySizes(): Promise<void> {
  const config = await loadConfigFile('keyless.config.organization.example.yaml')
  const rows: string[][] = []
  const expires = new Date('2026-11-28T10:30:00Z')
  for (const target of config.targets.values()) {
    const size = policySize(buildGrantPolicy(config, target, expires))
    rows.push([
      target.name,
      target.account.name,
      String(target.account.regions.length),
      target.access.join('+'),
      String(size),
      `${((size / INLINE_POLICY_QUOTA.role) * 100).toFixed(0)}%`,
    ])
  }
  printTable(
    ['target (organization example)', 'account', 'regions', 'access', 'characters', 'of role quota'],
    rows,
  )
}
