import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam'
import {
  DescribeExecutionCommand,
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
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { runKeyless } from '../kit/cli.ts'
import { configFrom, SPEC_CONFIG_YAML, specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, advance, at, pendingGrant, workflow } from '../kit/grants.ts'

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
      requester: 'U0ALICE',
      principal: active.principal,
      status: 'ACTIVE',
      requestedAt: active.requestedAt,
      expiresAt: active.expiresAt,
    })
    expect(rows.find((row) => row.id === pending.id)).toMatchObject({ status: 'PENDING', expiresAt: null })
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
})
