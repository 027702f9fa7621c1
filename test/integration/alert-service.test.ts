import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { raw as alertFunction } from '../../functions/alerts/handler.ts'
import { raw as reconcilerRun } from '../../functions/reconciler/handler.ts'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { WebSlackApi } from '../../shared/adapters/slack/api.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { SlackSecurityChannel } from '../../shared/adapters/slack/security-channel.ts'
import { evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { AlertService } from '../../shared/core/alerts/service.ts'
import type { Clock } from '../../shared/core/clock.ts'
import type { Grant } from '../../shared/core/grants/grant.ts'
import { access, envelope, FIXTURES, fixture, startSession } from '../kit/cloudtrail.ts'
import { specConfig } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, at } from '../kit/grants.ts'
import { type SlackRecorder, startSlackRecorder } from '../kit/slack.ts'

/**
 * The alert function's service over real parts: the embedded DynamoDB (grants and verdicts in
 * one table), the local instances' tags, and Slack's own client talking to a loopback Web API.
 */

const config = specConfig()
const PROD_DB = 'i-0123456789abcdef0'
const instances = new LocalAccessBackend([
  { instanceId: PROD_DB, region: 'eu-west-1', tags: { 'access-target': 'prod-db' } },
])
let db: EmbeddedDynamo
let slack: SlackRecorder
let verdicts: DynamoVerdictStore
let now = at(120)
const clock: Clock = { now: () => now }
const warnings: string[] = []

function service(): AlertService {
  return new AlertService({
    context: evaluationContext(config, instances, db.store),
    grants: db.store,
    verdicts,
    securityChannel: new SlackSecurityChannel(
      new WebSlackApi(createSlackClient('xoxb-test', { slackApiUrl: slack.url })),
      config.slack.securityChannel,
    ),
    clock,
    warn: (message) => warnings.push(message),
  })
}

beforeAll(async () => {
  db = await startEmbeddedDynamo('keyless-alert-service')
  slack = await startSlackRecorder()
  verdicts = new DynamoVerdictStore(db.client, db.tableName)
})
afterAll(async () => {
  await slack?.close()
  await db?.close()
})
beforeEach(() => {
  slack.calls.length = 0
  warnings.length = 0
  now = at(120)
})

let events = 0
/** A new access event (its own eventID) by Alice's role on prod-db at T0+120s; MFA unless said. */
function aliceOnProdDb(overrides: Record<string, unknown> = {}) {
  events += 1
  return access(
    startSession({
      eventID: `a1e00000-0000-4000-8000-${String(events).padStart(12, '0')}`,
      eventTime: at(120).toISOString(),
      ...overrides,
    }),
  )
}
const alerts = () => slack.of('chat.postMessage')

describe('the alert service', () => {
  let grant: Grant
  beforeAll(async () => {
    grant = activeGrant(config)
    await db.store.create(grant)
  })

  it('an access with no finding is stored, linked to its grant, and not posted', async () => {
    const event = aliceOnProdDb()
    const { verdict, alert } = await service().handle(event)
    expect(alert).toBe('none')
    expect(verdict).toMatchObject({ alert: 'none', grantId: grant.id, findings: [] })
    expect(await verdicts.get(event.eventId)).toEqual(verdict)
    expect(alerts()).toEqual([])
    expect((await db.store.get(grant.id))?.sessions?.[event.eventId]).toEqual({
      at: at(120).toISOString(),
      eventName: 'StartSession',
      principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      instances: [PROD_DB],
      sourceIPAddress: '203.0.113.10',
      mfa: true,
      rules: [],
    })
  })

  it('a finding is posted once to the security channel, never to the person, and marked sent', async () => {
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.23' })
    const { verdict, alert } = await service().handle(event)
    expect(alert).toBe('posted')
    expect(alerts().map((call) => call.args.channel)).toEqual(['C0SECURITY'])
    const text = JSON.stringify(alerts()[0]?.args.blocks)
    for (const shown of [
      'UNEXPECTED_SOURCE_IP',
      '<@U0ALICE>',
      PROD_DB,
      '198.51.100.23',
      grant.id,
      event.eventId,
    ]) {
      expect(text).toContain(shown)
    }
    expect(await verdicts.get(event.eventId)).toMatchObject({
      alert: 'sent',
      attempts: 1,
      posted: { channel: 'C0SECURITY', ts: expect.any(String) },
    })
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['UNEXPECTED_SOURCE_IP'])
    // The session is on the grant with the rule it raised.
    expect((await db.store.get(grant.id))?.sessions?.[event.eventId]?.rules).toEqual(['UNEXPECTED_SOURCE_IP'])
  })

  it('a redelivered event alerts once, however many deliveries race', async () => {
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.24' })
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => service().handle(event)))
    expect(outcomes.filter((outcome) => outcome.alert === 'posted')).toHaveLength(1)
    expect(await service().handle(event)).toMatchObject({ alert: 'already-posted' })
    expect(alerts()).toHaveLength(1)
    const sessions = (await db.store.get(grant.id))?.sessions ?? {}
    expect(Object.keys(sessions).filter((id) => id === event.eventId)).toHaveLength(1)
  })

  it('a Slack failure leaves the alert stored unsent; the next sweep posts it, once', async () => {
    slack.fail('chat.postMessage', 'channel_not_found')
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.25' })
    expect((await service().handle(event)).alert).toBe('unsent')
    expect(await verdicts.get(event.eventId)).toMatchObject({
      alert: 'unsent',
      attempts: 1,
      lastError: expect.stringContaining('channel_not_found'),
    })
    expect((await verdicts.listUnsent(10)).map((verdict) => verdict.eventId)).toEqual([event.eventId])
    expect(warnings).toEqual(['security alert not posted; it stays unsent for the next sweep'])

    // A redelivery while Slack is back posts it too: through the same claim.
    const sender = service().sender
    expect(await sender.sendUnsent()).toEqual({ posted: 1, left: false })
    expect(await sender.sendUnsent()).toEqual({ posted: 0, left: false })
    expect(await verdicts.listUnsent(10)).toEqual([])
    expect(alerts()).toHaveLength(2) // the failed attempt and the one that landed
    expect(await service().handle(event)).toMatchObject({ alert: 'already-posted' })
  })

  it('the reconciler’s run posts what Slack refused; the table’s grant listing never shows a verdict', async () => {
    slack.fail('chat.postMessage', 'service_unavailable')
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.29' })
    expect((await service().handle(event)).alert).toBe('unsent')
    const runs = new DynamoReconcilerRuns(db.client, db.tableName)
    const repaired: number[] = []
    const run = reconcilerRun(
      {
        config,
        store: db.store,
        backend: instances,
        notifier: { send: async () => {} },
        clock,
        warn: () => {},
      },
      { alerts: service().sender, runs, repaired: (count) => repaired.push(count) },
    )
    expect(await runs.last()).toBeUndefined()
    expect(await run()).toEqual({ findings: 0, alertsPosted: 1, alertPaths: 'unwatched' })
    // Its record, what `keyless doctor --stack` reads.
    expect(await runs.last()).toEqual({
      at: clock.now().toISOString().replace('.000Z', 'Z'),
      findings: 0,
      alertsPosted: 1,
    })
    expect((await verdicts.get(event.eventId))?.alert).toBe('sent')
    expect((await db.store.listAll()).map((listed) => listed.id)).toEqual([grant.id])
    // Nothing repaired, so no repairs metric.
    expect(repaired).toEqual([])
  })

  it('while one sender holds an alert, another leaves it; after the claim runs out, it may take it', async () => {
    slack.fail('chat.postMessage', 'fatal_error')
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.26' })
    await service().handle(event)
    const first = await verdicts.claim(event.eventId, now, at(180))
    expect(first?.eventId).toBe(event.eventId)
    expect(await service().sender.claimAndPost(event.eventId)).toBe('in-progress')
    now = at(181)
    expect(await service().sender.claimAndPost(event.eventId)).toBe('posted')
  })

  it('sweeps at most once a minute per warm function', async () => {
    slack.fail('chat.postMessage', 'fatal_error')
    const event = aliceOnProdDb({ sourceIPAddress: '198.51.100.27' })
    const warm = service()
    await warm.handle(event)
    await warm.sender.sweepIfDue()
    expect((await verdicts.get(event.eventId))?.alert).toBe('sent')
    const failed = aliceOnProdDb({ sourceIPAddress: '198.51.100.28' })
    slack.fail('chat.postMessage', 'fatal_error')
    await warm.handle(failed)
    await warm.sender.sweepIfDue() // within the minute: no sweep
    expect((await verdicts.get(failed.eventId))?.alert).toBe('unsent')
    now = at(120 + 61)
    await warm.sender.sweepIfDue()
    expect((await verdicts.get(failed.eventId))?.alert).toBe('sent')
  })
})

describe('the alert function (EventBridge target)', () => {
  const logged: { level: string; message: string }[] = []
  const log = {
    info: (message: string) => logged.push({ level: 'info', message }),
    warn: (message: string) => logged.push({ level: 'warn', message }),
    error: (message: string) => logged.push({ level: 'error', message }),
  }
  const invoke = (event: unknown) => alertFunction(service(), log)(event)

  it('evaluates the envelope EventBridge delivers, as the fixture has it', async () => {
    const delivered = JSON.parse(
      await readFile(new URL('start-session-mfa.eventbridge.json', FIXTURES), 'utf8'),
    )
    // Alice, with MFA, from the allowed network, on prod-db: in October, when she held no grant.
    expect(await invoke(delivered)).toEqual({
      outcome: 'evaluated',
      eventId: '11111111-2222-4333-8444-555555555555',
      rules: ['NO_ACTIVE_GRANT'],
      alert: 'posted',
      grantId: null,
    })
    expect(alerts().map((call) => call.args.channel)).toEqual(['C0SECURITY'])
    expect(await verdicts.get('11111111-2222-4333-8444-555555555555')).toBeDefined()
  })

  it("alerts a stopped trail and keyless's disabled rule, naming what was changed; keyless's own heartbeat is neither stored nor posted", async () => {
    for (const [name, rule] of [
      ['stop-logging.json', 'TRAIL_TAMPERED'],
      ['disable-rule.json', 'KEYLESS_TAMPERED'],
    ] as const) {
      const delivered = envelope(await fixture(name))
      expect(await invoke(delivered)).toMatchObject({ outcome: 'evaluated', rules: [rule], alert: 'posted' })
      expect((await verdicts.get(delivered.detail.eventID))?.alert).toBe('sent')
    }
    const [trail, rule] = alerts().map((call) => JSON.stringify(call.args.blocks))
    expect(trail).toContain('trail/management-events')
    expect(rule).toContain('KEYLESS_TAMPERED · keyless-watched-events')
    const heartbeat = envelope(await fixture('put-parameter-heartbeat.json'))
    expect(await invoke(heartbeat)).toMatchObject({ outcome: 'evaluated', rules: [], alert: 'none' })
    expect(await verdicts.get(heartbeat.detail.eventID)).toBeUndefined()
    expect(alerts()).toHaveLength(2)
  })

  it('re-checks what the rule should have filtered: drops, logs, and stores nothing', async () => {
    const record = startSession({ eventID: 'f0000000-0000-4000-8000-000000000001' })
    const cases: [unknown, string][] = [
      [
        { ...envelope(record), 'detail-type': 'AWS Console Sign In via CloudTrail' },
        'not a CloudTrail API call',
      ],
      [{ ...envelope(record), source: 'aws.sts' }, 'not a CloudTrail API call'],
      // An event put on the bus by someone else, claiming to be Session Manager's.
      [{ ...envelope(record), source: 'aws.ec2-instance-connect' }, 'does not match'],
      [{ ...envelope(record), source: 'aws.iam' }, 'does not match'],
      [envelope({ ...record, eventTime: 'yesterday' }), 'malformed record: eventTime is not a time'],
      [null, 'not a CloudTrail API call'],
    ]
    for (const [event, reason] of cases) {
      const result = await invoke(event)
      expect(result).toMatchObject({ outcome: 'dropped', reason: expect.stringContaining(reason) })
    }
    expect(await verdicts.get(record.eventID)).toBeUndefined()
    expect(alerts()).toEqual([])
  })

  it('a CloudTrail call that is not an access is ignored', async () => {
    const terminate = {
      ...startSession({ eventID: 'f0000000-0000-4000-8000-000000000002' }),
      eventName: 'TerminateSession',
    }
    expect(await invoke(envelope(terminate))).toEqual({ outcome: 'ignored', eventName: 'TerminateSession' })
    expect(await verdicts.get(terminate.eventID)).toBeUndefined()
  })
})
