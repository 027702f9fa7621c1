import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail'
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge'
import {
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn'
import {
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  SSMClient,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { DeleteCommand } from '@aws-sdk/lib-dynamodb'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { heartbeatKey } from '../../shared/adapters/dynamodb/keys.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { runKeyless } from '../kit/cli.ts'
import { configFrom, SPEC_CONFIG_YAML, specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, advance, at, pendingGrant, workflow } from '../kit/grants.ts'
import { type SlackRecorder, startSlackRecorder } from '../kit/slack.ts'

/**
 * `keyless grants … --table`: the embedded DynamoDB stands in for the deployed table (the SDK
 * reads AWS_ENDPOINT_URL_DYNAMODB, as it would for any endpoint override); STS and Step
 * Functions, which have no local stand-in, are mocked at the SDK client.
 */

let db: EmbeddedDynamo
const ENVIRONMENT = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
] as const
const saved = Object.fromEntries(ENVIRONMENT.map((name) => [name, process.env[name]]))
const sts = mockClient(STSClient)
const sfn = mockClient(SFNClient)
const iam = mockClient(IAMClient)
const ssm = mockClient(SSMClient)
// The deployed config, with a target of its own for the incident tests (the table is shared).
const BATCH_CONFIG_YAML = SPEC_CONFIG_YAML.replace(
  'targets:\n',
  'targets:\n  batch:\n    access: [shell]\n    approvers: [U0MANAGER1]\n',
)
let configDir: string
let configFile: string
const OPERATOR = 'arn:aws:sts::111122223333:assumed-role/ops/jane'

beforeAll(async () => {
  db = await startEmbeddedDynamo('deployed-grants')
  const endpoint = await db.client.config.endpoint?.()
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: `http://${endpoint?.hostname}:${endpoint?.port}`,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'eu-west-1',
  })
  configDir = await mkdtemp(join(tmpdir(), 'keyless-cli-grants-'))
  configFile = join(configDir, 'keyless.config.yaml')
  await writeFile(configFile, BATCH_CONFIG_YAML)
  sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR, Account: '111122223333' })
  sfn.on(SendTaskSuccessCommand).resolves({})
})
afterAll(async () => {
  for (const name of ENVIRONMENT) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
  sts.restore()
  sfn.restore()
  iam.restore()
  ssm.restore()
  await db?.close()
  await rm(configDir, { recursive: true, force: true })
})

const keyless = (args: string[]) => runKeyless(args, process.env)
const ORGANIZATION_EXAMPLE = 'keyless.config.organization.example.yaml'
/** The home path of the stack the doctor checks: its state machine's region and account. */
const HOME_PATH = { account: '111122223333', region: 'eu-west-1' }

describe('keyless grants --table', () => {
  const config = specConfig()

  it('lists live grants as JSON, in the documented shape', async () => {
    const active = { ...activeGrant(config), taskToken: 'token-of-the-expiry-wait' }
    const pending = pendingGrant(config)
    await db.store.create(active)
    await db.store.create(pending)
    const { code, stdout } = await keyless(['grants', 'list', '--json', '--table', db.tableName])
    expect(code).toBe(0)
    const rows = JSON.parse(stdout) as Record<string, unknown>[]
    expect(rows).toContainEqual({
      id: active.id,
      target: 'prod-db',
      targets: ['prod-db'],
      requester: 'U0ALICE',
      principal: active.principal,
      status: 'ACTIVE',
      requestedAt: active.requestedAt,
      expiresAt: active.expiresAt,
    })
    expect(rows.find((row) => row.id === pending.id)).toMatchObject({ status: 'PENDING', expiresAt: null })
    // While it may hold access, show names where its policy is; a pending request has none.
    const shown = async (id: string) =>
      JSON.parse((await keyless(['grants', 'show', id, '--json', '--table', db.tableName])).stdout)
    expect((await shown(active.id)).attachments).toEqual([
      { account: '111122223333', principal: active.principal, policyName: `keyless-${active.id}` },
    ])
    expect(await shown(pending.id)).toMatchObject({ targets: ['prod-db'], attachments: [] })
    const human = await keyless(['grants', 'list', '--table', db.tableName])
    expect(human.stdout.split('\n')[0]).toMatch(
      /^ID\s+TARGET\s+REQUESTER\s+PRINCIPAL\s+STATUS\s+REQUESTED\s+EXPIRES$/,
    )
  })

  it('revokes as the caller AWS says it is, and wakes the grant workflow with its token', async () => {
    const grant = { ...activeGrant(config), taskToken: 'token-of-the-expiry-wait' }
    await db.store.create(grant)
    const { code, stdout, stderr } = await keyless([
      'grants',
      'revoke',
      grant.id,
      '--reason',
      'incident 42',
      '--table',
      db.tableName,
    ])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toContain(`revoking ${grant.id}`)
    expect(sfn.commandCalls(SendTaskSuccessCommand).at(-1)?.args[0].input).toEqual({
      taskToken: 'token-of-the-expiry-wait',
      output: JSON.stringify({ grantId: grant.id, event: 'revoke' }),
    })
    const stored = await db.store.get(grant.id)
    expect(stored?.revocation).toMatchObject({
      by: { kind: 'operator', id: OPERATOR },
      reason: 'incident 42',
    })

    const shown = await keyless(['grants', 'show', grant.id, '--table', db.tableName])
    expect(shown.stdout).toContain(`revocation-requested        operator ${OPERATOR}`)
  })

  it('denies a pending request as the caller AWS says it is', async () => {
    const pending = pendingGrant(config)
    await db.store.create(pending)
    const denied = await keyless([
      'grants',
      'deny',
      pending.id,
      '--reason',
      'freeze',
      '--table',
      db.tableName,
    ])
    expect(denied).toMatchObject({ code: 0, stderr: '' })
    expect((await db.store.get(pending.id))?.history.at(-1)).toMatchObject({
      action: 'denied',
      actor: { kind: 'operator', id: OPERATOR },
      to: 'DENIED',
      detail: 'freeze',
    })
  })

  it('refuses a malformed id, an unknown grant and a second revoke with one line each, exit 1', async () => {
    expect(await keyless(['grants', 'show', 'nope', '--table', db.tableName])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'keyless: "nope" is not a grant id, e.g. g-7kq2m9x4ab\n',
    })
    expect((await keyless(['grants', 'show', 'g-0000000000', '--table', db.tableName])).stderr).toBe(
      'keyless: There is no grant g-0000000000.\n',
    )
    const grant = activeGrant(config)
    await db.store.create(grant)
    await keyless(['grants', 'revoke', grant.id, '--table', db.tableName])
    const again = await keyless(['grants', 'revoke', grant.id, '--table', db.tableName])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('is already being revoked')
  })
})

describe('an incident and the doctor, against a deployed table', () => {
  const config = configFrom(parse(BATCH_CONFIG_YAML))
  const onBatch = { target: 'batch' }
  const aliceSession = {
    SessionId: 'alice-0123456789abcdef0',
    Target: 'i-0batch000000000001',
    Owner: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
  }

  it('revoke --all --target: denies requests, revokes grants, removes policies and ends sessions now', async () => {
    iam.reset()
    ssm.reset()
    iam.on(DeleteRolePolicyCommand).resolves({})
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: 'i-0batch000000000001' }],
    })
    // Alice's one open session on the target, in the first region asked.
    ssm
      .on(DescribeSessionsCommand)
      .resolvesOnce({ Sessions: [aliceSession] })
      .resolves({ Sessions: [] })
    ssm.on(TerminateSessionCommand).resolves({ SessionId: aliceSession.SessionId })
    const active = { ...activeGrant(config, onBatch), taskToken: 'token-of-the-batch-wait' }
    const pending = pendingGrant(config, onBatch)
    const failed = advance(activeGrant(config, onBatch), [
      [{ type: 'fail-revocation', reason: 'Throttling' }, workflow, at(200)],
    ])
    const elsewhere = activeGrant(config)
    for (const grant of [active, pending, failed, elsewhere]) await db.store.create(grant)

    const { code, stdout, stderr } = await keyless([
      'grants',
      'revoke',
      '--all',
      '--target',
      'batch',
      '--reason',
      'incident 7: batch hosts compromised',
      '--json',
      '--table',
      db.tableName,
      '--config',
      configFile,
    ])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    const rows = JSON.parse(stdout) as { id: string }[]
    const byId = (id: string) => rows.find((row) => row.id === id)
    expect(rows).toHaveLength(3)
    expect(byId(active.id)).toMatchObject({
      was: 'ACTIVE',
      status: 'ACTIVE',
      accessRemoved: true,
      sessionsTerminated: 1,
    })
    expect(byId(pending.id)).toMatchObject({ was: 'PENDING', status: 'DENIED', accessRemoved: false })
    expect(byId(failed.id)).toMatchObject({ was: 'REVOKE_FAILED', accessRemoved: true })
    // Recorded as the operator, the workflow woken, the policies gone, the session ended.
    expect((await db.store.get(active.id))?.revocation).toMatchObject({
      by: { kind: 'operator', id: OPERATOR },
      reason: 'incident 7: batch hosts compromised',
    })
    expect((await db.store.get(pending.id))?.history.at(-1)).toMatchObject({
      action: 'denied',
      actor: { kind: 'operator', id: OPERATOR },
    })
    expect(sfn.commandCalls(SendTaskSuccessCommand).at(-1)?.args[0].input.taskToken).toBe(
      'token-of-the-batch-wait',
    )
    expect(
      iam
        .commandCalls(DeleteRolePolicyCommand)
        .map((call) => call.args[0].input.PolicyName)
        .sort(),
    ).toEqual([`keyless-${active.id}`, `keyless-${failed.id}`].sort())
    expect(ssm.commandCalls(TerminateSessionCommand).map((call) => call.args[0].input.SessionId)).toEqual([
      aliceSession.SessionId,
    ])
    expect((await db.store.get(elsewhere.id))?.revocation).toBeUndefined()
  })

  it('revoke --all says which grants still hold access when removal fails, and exits 1', async () => {
    iam.reset()
    iam
      .on(DeleteRolePolicyCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }))
    const active = activeGrant(config, onBatch)
    await db.store.create(active)
    const args = [
      'grants',
      'revoke',
      '--all',
      '--target',
      'batch',
      '--table',
      db.tableName,
      '--config',
      configFile,
    ]
    const { code, stdout, stderr } = await keyless(args)
    expect(code).toBe(1)
    expect(stdout).toMatch(new RegExp(`${active.id}.*ACTIVE → ACTIVE \\(revoking\\)\\s+not removed here`))
    expect(stderr).toMatch(new RegExp(`still need their access removed: .*${active.id}`))
    expect((await db.store.get(active.id))?.revocation?.reason).toBe(
      'every grant on batch ended by an operator',
    )
  })

  it('refuses revoke --all without a target, with a grant id, or an unknown target', async () => {
    const table = ['--table', db.tableName, '--config', configFile]
    expect((await keyless(['grants', 'revoke', '--all', ...table])).stderr).toBe(
      'keyless: to end every live grant on a target, give --all and --target <t> and no grant id\n',
    )
    expect(
      (await keyless(['grants', 'revoke', 'g-0000000000', '--all', '--target', 'batch', ...table])).code,
    ).toBe(1)
    expect((await keyless(['grants', 'revoke', ...table])).stderr).toContain('name a grant id')
    expect((await keyless(['grants', 'revoke', '--all', '--target', 'nope', ...table])).stderr).toBe(
      'keyless: There is no target "nope". Targets: batch, prod-db, dev-web.\n',
    )
  })

  it('doctor: orphan policies, grants whose execution ended, REVOKE_FAILED grants; exit 1', async () => {
    iam.reset()
    sfn.reset()
    const live = activeGrant(config)
    await db.store.create(live)
    iam
      .on(ListRolePoliciesCommand)
      .resolves({ PolicyNames: [`keyless-${live.id}`, 'keyless-g-unknown0000', 'team'] })
    iam.on(ListUserPoliciesCommand).resolves({ PolicyNames: [] })
    sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
      if (executionArn.endsWith(`:${live.id}`)) return { executionArn, status: 'RUNNING' }
      if (executionArn.endsWith('-2')) throw new ExecutionDoesNotExist({ message: 'none', $metadata: {} })
      return { executionArn, status: 'FAILED' }
    })
    const args = ['doctor', '--json', '--table', db.tableName, '--config', configFile]
    const machine = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Keyless-grant-workflow'
    const { code, stdout, stderr } = await keyless([...args, '--state-machine', machine])
    const report = JSON.parse(stdout)
    expect(report.orphanPolicies).toEqual([
      { principal: 'arn:aws:iam::111122223333:role/alice-ops', policyName: 'keyless-g-unknown0000' },
    ])
    // Every other live grant in this shared table has a first execution that ended.
    expect(report.grantsWithoutExecution.map((grant: { grantId: string }) => grant.grantId)).not.toContain(
      live.id,
    )
    expect(report.grantsWithoutExecution.length).toBeGreaterThan(0)
    expect(report.revokeFailed.length).toBeGreaterThan(0)
    expect(report.unsentAlerts).toBe(0)
    expect(report.problems).toBe(1 + report.grantsWithoutExecution.length + report.revokeFailed.length)
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `keyless: the doctor found ${report.problems} problem(s)\n`,
    })

    const text = await keyless(['doctor', '--table', db.tableName, '--config', configFile])
    expect(text.stdout).toContain(
      'live grants without a running execution: not checked (give --state-machine <StateMachineArn>)',
    )
    expect(text.stdout).toContain(
      'keyless-g-unknown0000 on arn:aws:iam::111122223333:role/alice-ops: no grant has this id',
    )
  })
  it('doctor, for an organization: reads the home account with the operator’s credentials and names the member accounts it leaves to the reconciler', async () => {
    iam.reset()
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] })
    iam.on(ListUserPoliciesCommand).resolves({ PolicyNames: [] })
    const args = ['doctor', '--json', '--table', db.tableName, '--config', ORGANIZATION_EXAMPLE]
    const report = JSON.parse((await keyless(args)).stdout)
    expect(report.accountsNotChecked).toEqual(['444455556666'])
    expect(report.unreadPrincipals).toEqual([])
    // Alice's own role and Carol's grant role in the home account are read; the member's grant roles are not.
    const read = iam.commandCalls(ListRolePoliciesCommand).map((call) => call.args[0].input.RoleName)
    expect(read.sort()).toEqual(['U0CAROL', 'alice-ops'])
    expect(report.grantRoles.filter((role: { account: string }) => role.account === '444455556666')).toEqual(
      expect.arrayContaining([expect.objectContaining({ policies: null })]),
    )
    const text = (await keyless(['doctor', '--table', db.tableName, '--config', ORGANIZATION_EXAMPLE])).stdout
    expect(text).toContain('not read from here: 444455556666')
  })
})

describe('keyless doctor --stack: the deployment end to end', () => {
  const cloudFormation = mockClient(CloudFormationClient)
  const cloudTrail = mockClient(CloudTrailClient)
  const events = mockClient(EventBridgeClient)
  const secrets = mockClient(SecretsManagerClient)
  const machine = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Keyless-grant-workflow'
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:KeylessSlackSecret-abc'
  let slack: SlackRecorder
  let now = new Date()

  beforeAll(async () => {
    slack = await startSlackRecorder()
    slack.answer('auth.test', { user: 'keyless', team: 'Acme' })
  })
  afterAll(async () => {
    for (const mock of [cloudFormation, cloudTrail, events, secrets]) mock.restore()
    await slack.close()
  })

  /** A stack whose every part is fine; each test breaks what it checks. */
  function healthy() {
    for (const mock of [cloudFormation, cloudTrail, events, secrets]) mock.reset()
    sfn.reset()
    iam.reset()
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] })
    iam.on(ListUserPoliciesCommand).resolves({ PolicyNames: [] })
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' })
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Keyless' }).resolves({
      Stacks: [
        {
          StackName: 'Keyless',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'GrantTableName', OutputValue: db.tableName },
            { OutputKey: 'StateMachineArn', OutputValue: machine },
            { OutputKey: 'SlackSecretArn', OutputValue: secretArn },
            { OutputKey: 'AlertRuleName', OutputValue: 'Keyless-AlertsRule-1' },
          ],
        },
      ],
    })
    secrets
      .on(GetSecretValueCommand, { SecretId: secretArn })
      .resolves({ SecretString: JSON.stringify({ signingSecret: 'sssh', botToken: 'xoxb-deployed' }) })
    cloudTrail.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'org',
          TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org',
          IsMultiRegionTrail: true,
        },
      ],
    })
    cloudTrail.on(GetTrailStatusCommand).resolves({ IsLogging: true })
    cloudTrail
      .on(GetEventSelectorsCommand)
      .resolves({ EventSelectors: [{ IncludeManagementEvents: true, ReadWriteType: 'All' }] })
    events.on(DescribeRuleCommand, { Name: 'Keyless-AlertsRule-1' }).resolves({ State: 'ENABLED' })
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: machine }).resolves({
      stateMachineArn: machine,
      name: 'Keyless-grant-workflow',
      status: 'ACTIVE',
      definition: '{}',
      roleArn: 'arn:aws:iam::111122223333:role/keyless/x',
      type: 'STANDARD',
      creationDate: new Date(),
    })
  }
  const doctorJson = async () => {
    const result = await runKeyless(['doctor', '--stack', 'Keyless', '--json', '--config', configFile], {
      ...process.env,
      SLACK_API_URL: slack.url,
    })
    return { ...result, report: JSON.parse(result.stdout) }
  }

  it('finds a healthy deployment healthy, naming what it checked', async () => {
    healthy()
    now = new Date()
    await new DynamoReconcilerRuns(db.client, db.tableName).record({
      at: new Date(now.getTime() - 3 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      findings: 0,
      alertsPosted: 0,
    })
    const lastHeartbeat = new Date(now.getTime() - 7 * 60_000).toISOString()
    await db.client.send(new DeleteCommand({ TableName: db.tableName, Key: heartbeatKey(HOME_PATH) }))
    await new DynamoHeartbeats(db.client, db.tableName).seen(HOME_PATH, lastHeartbeat)
    const { report } = await doctorJson()
    expect(report.deployment).toEqual([
      {
        check: 'slack',
        ok: true,
        detail: 'the secret is set and Slack answers auth.test as keyless in Acme',
      },
      { check: 'trail', ok: true, detail: 'trail org logs management events in eu-west-1' },
      { check: 'alert-rule', ok: true, detail: 'the alert rule Keyless-AlertsRule-1 is enabled' },
      {
        check: 'reconciler',
        ok: true,
        detail: expect.stringMatching(
          /^the reconciler last ran \S+Z \(3 min ago\): 0 finding\(s\), 0 alert\(s\) posted$/,
        ),
      },
      {
        check: 'alert-path',
        ok: true,
        detail: `the last heartbeat came through ${lastHeartbeat} (7 min ago)`,
      },
      { check: 'state-machine', ok: true, detail: 'the grant workflow Keyless-grant-workflow is active' },
    ])
    expect(slack.of('auth.test').at(-1)?.args).toBeDefined()
  })

  it('names each broken part in a sentence and exits 1', async () => {
    healthy()
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'generated-by-cloudformation' })
    cloudTrail.on(GetTrailStatusCommand).resolves({ IsLogging: false })
    events.on(DescribeRuleCommand).resolves({ State: 'DISABLED' })
    sfn
      .on(DescribeStateMachineCommand)
      .rejects(Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }))
    await new DynamoReconcilerRuns(db.client, db.tableName).record({
      at: '2026-01-01T00:00:00Z',
      findings: 2,
      alertsPosted: 0,
    })
    // The last heartbeat the alert function received came through long ago.
    await db.client.send(new DeleteCommand({ TableName: db.tableName, Key: heartbeatKey(HOME_PATH) }))
    await new DynamoHeartbeats(db.client, db.tableName).seen(HOME_PATH, '2026-01-01T00:00:00Z')
    const { code, report, stderr } = await doctorJson()
    expect(report.deployment).toEqual([
      {
        check: 'slack',
        ok: false,
        detail: `the Slack secret ${secretArn} must be JSON with signingSecret and botToken (xoxb-…): it is not JSON; put the app's credentials there (README "Deploy")`,
      },
      {
        check: 'trail',
        ok: false,
        detail:
          'no logging trail records management events in eu-west-1: EventBridge then receives no StartSession or SendSSHPublicKey, and nothing is alerted (create one, or deploy with -c keyless:createTrail=true)',
      },
      {
        check: 'alert-rule',
        ok: false,
        detail: 'the alert rule Keyless-AlertsRule-1 is DISABLED: no access is checked',
      },
      {
        check: 'reconciler',
        ok: false,
        detail: expect.stringMatching(
          /^the reconciler last ran 2026-01-01T00:00:00Z \(\d+ min ago\); it runs every 5 minutes$/,
        ),
      },
      {
        check: 'alert-path',
        ok: false,
        detail: expect.stringMatching(
          /^the last heartbeat came through 2026-01-01T00:00:00Z \(\d+ min ago\): access may be going unseen$/,
        ),
      },
      { check: 'state-machine', ok: false, detail: 'State Machine Does Not Exist' },
    ])
    expect(report.problems).toBeGreaterThanOrEqual(6)
    expect(code).toBe(1)
    expect(stderr).toBe(`keyless: the doctor found ${report.problems} problem(s)\n`)
    expect(JSON.stringify(report)).not.toContain('generated-by-cloudformation')
  })

  it('refuses a stack that is not keyless home stack, in one line', async () => {
    healthy()
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    })
    expect(await runKeyless(['doctor', '--stack', 'Other'], process.env)).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        "keyless: stack Other has no output GrantTableName, StateMachineArn, SlackSecretArn, AlertRuleName: is it keyless's home stack, deployed by this version?\n",
    })
  })
})
