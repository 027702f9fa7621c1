import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runKeyless } from '../kit/cli.ts'
import { specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, pendingGrant } from '../kit/grants.ts'

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
  await db?.close()
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
