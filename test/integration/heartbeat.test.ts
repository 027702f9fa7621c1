import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { DeleteCommand } from '@aws-sdk/lib-dynamodb'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { raw as alertFunction } from '../../functions/alerts/handler.ts'
import { raw as reconcilerRun } from '../../functions/reconciler/handler.ts'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { sendHeartbeat } from '../../shared/adapters/aws/heartbeat-parameter.ts'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { heartbeatKey } from '../../shared/adapters/dynamodb/keys.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { beatAndWatch, type HeartbeatDeps, watchedPaths } from '../../shared/core/alerts/heartbeat.ts'
import { AlertService } from '../../shared/core/alerts/service.ts'
import { addSeconds, type Clock } from '../../shared/core/clock.ts'
import { envelope, fixture } from '../kit/cloudtrail.ts'
import { specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { T0 } from '../kit/grants.ts'
import { RecordingNotifier } from '../kit/notifier.ts'

/**
 * The alert path's heartbeat over real parts: the embedded DynamoDB for what arrived, the alert
 * function's handler for heartbeats coming in, the reconciler's watch for their silence; SSM
 * mocked at the SDK client (nothing local records a PutParameter).
 */

const config = specConfig()
let db: EmbeddedDynamo
let now: Date
const clock: Clock = { now: () => now }
const minutes = (n: number) => addSeconds(T0, n * 60)

beforeAll(async () => {
  db = await startEmbeddedDynamo('keyless-heartbeat')
})
afterAll(async () => {
  await db?.close()
})

/** The home region's path and a forwarding region's (the fixture's heartbeat is the home one's). */
const HOME = { account: '111122223333', region: 'eu-west-1' }
const FORWARDED = { account: '111122223333', region: 'us-east-1' }

/** The heartbeat items, cleared before each test. */
let heartbeats: DynamoHeartbeats
let notifier: RecordingNotifier
let beats: string[]
let warnings: string[]
beforeEach(async () => {
  heartbeats = new DynamoHeartbeats(db.client, db.tableName)
  for (const path of [HOME, FORWARDED]) {
    await db.client.send(new DeleteCommand({ TableName: db.tableName, Key: heartbeatKey(path) }))
  }
  notifier = new RecordingNotifier()
  beats = []
  warnings = []
})

const deps = (paths = [HOME]): HeartbeatDeps => ({
  heartbeats,
  paths,
  beat: async (path, at) => {
    beats.push(`${path.region} ${at.toISOString()}`)
  },
  notifier,
  clock,
  warn: (message) => warnings.push(message),
})
/** One run at `at`, watching `paths`; the home path's verdict. */
const watchAt = async (at: Date, paths = [HOME]) => {
  now = at
  const verdicts = await beatAndWatch(deps(paths))
  return verdicts.find(({ path }) => path === HOME)?.verdict
}

describe('the alert path heartbeat', () => {
  it('sends one heartbeat a run; silence for 30 minutes is told once, and its end once', async () => {
    expect(await watchAt(minutes(0))).toBe('alive') // watching begins: nothing expected yet
    expect(await watchAt(minutes(29))).toBe('alive')
    expect(await watchAt(minutes(30))).toBe('silent')
    expect(await watchAt(minutes(35))).toBe('silence-reported')
    expect(notifier.notices).toEqual([
      {
        kind: 'alert-path',
        state: 'silent',
        lastSeenAt: null,
        since: '2026-11-23T10:00:00Z',
        path: 'account 111122223333, eu-west-1',
      },
    ])
    await heartbeats.seen(HOME, minutes(33).toISOString())
    expect(await watchAt(minutes(40))).toBe('back')
    expect(notifier.notices.at(-1)).toMatchObject({ state: 'back', since: '2026-11-23T10:30:00Z' })
    expect(await watchAt(minutes(45))).toBe('alive')
    expect(beats).toHaveLength(6)
    // Silence is counted from the last heartbeat that arrived.
    expect(await watchAt(minutes(33 + 30))).toBe('silent')
    expect(notifier.notices.at(-1)).toMatchObject({ state: 'silent', since: minutes(33).toISOString() })
  })

  it('a report Slack refused is tried again next run; a heartbeat that cannot be sent is a warning', async () => {
    await watchAt(minutes(0))
    notifier.refuse('alert-path', 1)
    await expect(watchAt(minutes(31))).rejects.toThrow('Slack refused alert-path')
    expect(await watchAt(minutes(36))).toBe('silent')
    expect(notifier.notices).toHaveLength(1)
    const failing = { ...deps(), beat: async () => Promise.reject(new Error('AccessDenied (test)')) }
    now = minutes(41)
    expect(await beatAndWatch(failing)).toEqual([{ path: HOME, verdict: 'silence-reported' }])
    expect(warnings).toEqual(['could not send the heartbeat'])
  })

  it('keeps the latest heartbeat: one CloudTrail delivers late does not move it back', async () => {
    await heartbeats.seen(HOME, minutes(10).toISOString())
    await heartbeats.seen(HOME, minutes(5).toISOString())
    expect((await heartbeats.read(HOME)).lastSeenAt).toBe(minutes(10).toISOString())
  })

  it('watches every path on its own: a forwarding region gone quiet is told, naming it, while home stays alive', async () => {
    await watchAt(minutes(0), [HOME, FORWARDED])
    await heartbeats.seen(HOME, minutes(20).toISOString())
    now = minutes(31)
    expect(await beatAndWatch(deps([HOME, FORWARDED]))).toEqual([
      { path: HOME, verdict: 'alive' },
      { path: FORWARDED, verdict: 'silent' },
    ])
    expect(notifier.notices).toEqual([
      expect.objectContaining({ state: 'silent', path: 'account 111122223333, us-east-1' }),
    ])
    expect(beats.filter((beat) => beat.startsWith('us-east-1'))).toHaveLength(2)
  })

  it("the alert function records keyless's heartbeat and counts it; nothing is stored or posted", async () => {
    now = minutes(1)
    const verdicts = new DynamoVerdictStore(db.client, db.tableName)
    const service = new AlertService({
      context: evaluationContext(config, new LocalAccessBackend([]), db.store),
      grants: db.store,
      verdicts,
      securityChannel: { post: async () => Promise.reject(new Error('no alert expected')) },
      clock,
      warn: () => {},
      heartbeats,
    })
    let counted = 0
    const silentLog = { info: () => {}, warn: () => {}, error: () => {} }
    const delivered = envelope(await fixture('put-parameter-heartbeat.json'))
    expect(await alertFunction(service, silentLog, () => counted++)(delivered)).toMatchObject({
      outcome: 'evaluated',
      rules: [],
      alert: 'none',
    })
    expect(counted).toBe(1)
    expect((await heartbeats.read(HOME)).lastSeenAt).toBe(delivered.detail.eventTime)
    expect(await verdicts.get(delivered.detail.eventID)).toBeUndefined()
  })

  it('the reconciler sends it as a PutParameter of /keyless/heartbeat and reports the path', async () => {
    const ssm = mockClient(SSMClient)
    try {
      ssm.on(PutParameterCommand).resolves({ Version: 1 })
      now = minutes(0)
      const run = reconcilerRun(
        { config, store: db.store, backend: new LocalAccessBackend([]), notifier, clock, warn: () => {} },
        {
          heartbeat: {
            heartbeats,
            paths: watchedPaths(config),
            beat: sendHeartbeat((path) => new SSMClient({ region: path.region })),
          },
        },
      )
      // The spec config watches eu-west-1 (home) and us-east-1 (configured, and where IAM is recorded).
      expect(await run()).toMatchObject({
        alertPaths: [
          { path: 'account 111122223333, eu-west-1', verdict: 'alive' },
          { path: 'account 111122223333, us-east-1', verdict: 'alive' },
        ],
      })
      expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(2)
      expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
        Name: '/keyless/heartbeat',
        Value: '2026-11-23T10:00:00Z',
        Type: 'String',
        Overwrite: true,
      })
    } finally {
      ssm.restore()
    }
  })
})
