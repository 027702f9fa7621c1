/**
 * The alert function's per-event latency (`npm run bench`): the real handler, the real alert
 * service and the embedded DynamoDB (grants and verdicts), the local instances' tags, and no
 * Slack (a SlackApi that answers at once, so the figure is keyless's own work). A realistic
 * mix: accesses under a grant (stored and linked, nothing posted), accesses outside any grant
 * (stored, posted, marked sent), accesses to instances of no target; then redeliveries.
 */

import { performance } from 'node:perf_hooks'
import { raw as alertFunction } from '../functions/alerts/handler.ts'
import { LocalAccessBackend } from '../local/access-backend.ts'
import { DynamoVerdictStore } from '../shared/adapters/dynamodb/verdict-store.ts'
import type { SlackApi } from '../shared/adapters/slack/api.ts'
import { SlackSecurityChannel } from '../shared/adapters/slack/security-channel.ts'
import { evaluationContext } from '../shared/core/alerts/evaluate.ts'
import { AlertService } from '../shared/core/alerts/service.ts'
import { systemClock } from '../shared/core/clock.ts'
import { assumedRole, envelope, startSession } from '../test/kit/cloudtrail.ts'
import { configFrom, specConfigObject } from '../test/kit/config.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { activeGrant } from '../test/kit/grants.ts'

/** People with a grant each: events spread over them as over a team, ~10 sessions per grant. */
const PEOPLE = 100
const personId = (n: number) => `U0P${String(n).padStart(4, '0')}`
const roleOf = (n: number) => `arn:aws:iam::111122223333:role/person-${n}`

import { percentile, printTable } from './report.ts'

const NO_SLACK: SlackApi = {
  postMessage: async (channel) => ({ channel, ts: '1.000001' }),
  updateMessage: async () => {},
  postEphemeral: async () => {},
  publishHome: async () => {},
  userGroupMembers: async () => [],
}

export async function alertFunctionLatency(): Promise<void> {
  const raw = specConfigObject()
  raw.people = Object.fromEntries(
    Array.from({ length: PEOPLE }, (_, n) => [personId(n), { principal: roleOf(n), manager: 'U0BOB' }]),
  )
  const config = configFrom(raw)
  const db = await startEmbeddedDynamo('keyless-bench-alerts')
  const instances = new LocalAccessBackend([
    { instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', tags: { 'access-target': 'prod-db' } },
    { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1', tags: {} },
  ])
  const service = new AlertService({
    context: evaluationContext(config, instances, db.store),
    grants: db.store,
    verdicts: new DynamoVerdictStore(db.client, db.tableName),
    securityChannel: new SlackSecurityChannel(NO_SLACK, config.slack.securityChannel),
    clock: systemClock,
    warn: () => {},
  })
  const handle = alertFunction(service, { info: () => {}, warn: () => {}, error: () => {} })
  // Everyone's grant covers now: activated a minute ago for 30 minutes.
  const now = Date.now()
  for (let n = 0; n < PEOPLE; n++) {
    const grant = activeGrant(config, { requester: personId(n), clientToken: `bench-${n}` })
    const shift = now - 60_000 - Date.parse(grant.activatedAt ?? '')
    const moved = (iso?: string) =>
      iso ? new Date(Date.parse(iso) + shift).toISOString().replace('.000Z', 'Z') : iso
    await db.store.create({
      ...grant,
      activatedAt: moved(grant.activatedAt),
      expiresAt: moved(grant.expiresAt),
    })
  }

  const eventAt = (n: number) => {
    const kind = n % 3
    const person = Math.floor(n / 3) % PEOPLE
    const record = startSession({
      eventID: `b0000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      eventTime: new Date(now).toISOString(),
      requestParameters: { target: kind === 2 ? 'i-0fedcba9876543210' : 'i-0123456789abcdef0' },
      // Someone keyless does not know, or one of the people with a grant.
      userIdentity:
        kind === 1 ? assumedRole('legacy-admin', 'eve') : assumedRole(`person-${person}`, 'session'),
    })
    return envelope(record)
  }
  const measure = async (events: unknown[]) => {
    const times: number[] = []
    for (const event of events) {
      const start = performance.now()
      await handle(event)
      times.push(performance.now() - start)
    }
    return times
  }
  await measure(Array.from({ length: 300 }, (_, n) => eventAt(1_000_000 + n))) // warm-up
  const fresh = Array.from({ length: 3000 }, (_, n) => eventAt(n))
  const first = await measure(fresh)
  const again = await measure(fresh.slice(0, 1000))
  await db.close()
  const row = (label: string, times: number[]) => [
    label,
    String(times.length),
    `${percentile(times, 50).toFixed(2)} ms`,
    `${percentile(times, 99).toFixed(2)} ms`,
  ]
  printTable(
    ['alert function, one event (embedded DynamoDB, no Slack)', 'events', 'p50', 'p99'],
    [
      row(`new events: ⅓ under one of ${PEOPLE} grants, ⅓ outside any (alerted), ⅓ no target`, first),
      row('redeliveries of those events', again),
    ],
  )
  console.log('target: p99 ≤ 20 ms')
}
