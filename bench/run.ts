/**
 * `npm run bench`: the numbers the closing notes report, measured here rather than expected.
 * - Policy size (characters, as IAM counts them) for each access kind, one and two regions.
 * - DynamoDB writes per grant transition, counted at the SDK client on the embedded server.
 * - Medians: building a policy; a store transition round trip on the embedded server.
 * - The reconciler over 10,000 stored grants, 100 needing repair: its time and its reads.
 * - A member account: approve → attached on a first-use grant role, AWS calls per attach, policy size.
 * - keyless audit over 1,000 roles × 200 instances: time, memory, candidates against simulator calls.
 * Timings on shared machines are noisy: medians over many runs, and ratios, not absolutes.
 */
import { performance } from 'node:perf_hooks'
import { grantPolicyName } from '../shared/core/access/backend.ts'
import { isoSeconds } from '../shared/core/clock.ts'
import { approveRequest, submitRequest } from '../shared/core/grants/control.ts'
import { newClientToken } from '../shared/core/grants/grant.ts'
import { decide } from '../shared/core/grants/lifecycle.ts'
import {
  buildGrantPolicy,
  INLINE_POLICY_QUOTA,
  policyForGrant,
  policySize,
} from '../shared/core/policy/grant-policy.ts'
import { configFrom, specConfigObject } from '../test/kit/config.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { alice, at, bob, pendingGrant, workflow } from '../test/kit/grants.ts'
import { ALICE, startPlane, workflowConfig } from '../test/kit/plane.ts'
import { alertFunctionLatency } from './alert-function.ts'
import { checkEventThroughput } from './alerts.ts'
import { auditAtScale } from './audit.ts'
import { costs } from './cost.ts'
import { deployBundles } from './deploy.ts'
import { memberAccountGrants } from './member-account.ts'
import { reconcilerAtScale } from './reconciler.ts'
import { median, printTable } from './report.ts'
import { accessAckLatency, stopTime } from './slack.ts'
import { slackHangTimes } from './slack-hang.ts'

function policySizes() {
  const kinds = {
    shell: { access: ['shell'] },
    'port-forward (1 port)': { access: ['port-forward'], ports: [5432] },
    ssh: { access: ['ssh'], osUser: 'ec2-user' },
    'all three (1 port)': { access: ['shell', 'port-forward', 'ssh'], ports: [5432], osUser: 'ec2-user' },
  }
  const rows: string[][] = []
  for (const regions of [['eu-west-1'], ['eu-west-1', 'us-east-1']]) {
    const raw = specConfigObject()
    raw.regions = regions
    raw.targets = Object.fromEntries(Object.entries(kinds).map(([, target], i) => [`t${i}`, target]))
    const config = configFrom(raw)
    Object.keys(kinds).forEach((kind, i) => {
      const target = config.targets.get(`t${i}`)
      if (!target) throw new Error('missing target')
      const size = policySize(buildGrantPolicy(config, target, new Date('2026-11-23T10:30:00Z')))
      rows.push([
        kind,
        String(regions.length),
        String(size),
        `${((size / INLINE_POLICY_QUOTA.user) * 100).toFixed(0)}%`,
        `${((size / INLINE_POLICY_QUOTA.role) * 100).toFixed(0)}%`,
      ])
    })
  }
  // One request over several targets: one policy, each statement once (the example's two targets).
  const example = configFrom(specConfigObject())
  for (const names of [['prod-db', 'dev-web']]) {
    const size = policySize(
      policyForGrant(
        example,
        { target: names[0] ?? '', targets: names, principal: ALICE },
        '2026-11-23T10:30:00Z',
      ).policy,
    )
    rows.push([
      names.join(' + '),
      String(example.regions.length),
      String(size),
      `${((size / INLINE_POLICY_QUOTA.user) * 100).toFixed(0)}%`,
      `${((size / INLINE_POLICY_QUOTA.role) * 100).toFixed(0)}%`,
    ])
  }
  printTable(['access kind', 'regions', 'characters', 'of user quota', 'of role quota'], rows)
}

async function storeWrites() {
  const db = await startEmbeddedDynamo('bench-grants')
  // Ask DynamoDB for the capacity each request consumed, table and indexes apart.
  let capacity = ''
  db.client.middlewareStack.add(
    (next) => async (args) => {
      ;(args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES'
      const result = await next(args)
      const consumed = (
        result.output as {
          ConsumedCapacity?: {
            CapacityUnits?: number
            Table?: { CapacityUnits?: number }
            GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>
          }
        }
      ).ConsumedCapacity
      if (consumed) {
        const indexes = Object.entries(consumed.GlobalSecondaryIndexes ?? {}).map(
          ([name, used]) => `${name} ${used.CapacityUnits}`,
        )
        capacity = `${consumed.CapacityUnits} WCU (table ${consumed.Table?.CapacityUnits ?? '?'}${indexes.length ? `; ${indexes.join(', ')}` : ''})`
      }
      return result
    },
    { step: 'initialize', name: 'recordCapacity' },
  )
  try {
    const raw = specConfigObject()
    const config = configFrom(raw)
    const rows: string[][] = []
    const grant = pendingGrant(config)
    db.commands.length = 0
    await db.store.create(grant)
    rows.push(['create (PENDING)', db.commands.join(' + '), capacity])
    const steps: [string, Parameters<typeof decide>[1], Parameters<typeof decide>[2], Date][] = [
      ['approve', { type: 'approve' }, bob, at(30)],
      ['activate', { type: 'activate' }, workflow, at(60)],
      ['request revocation', { type: 'request-revocation' }, alice, at(120)],
      ['end (REVOKED)', { type: 'end' }, workflow, at(121)],
    ]
    let current = grant
    for (const [label, event, actor, now] of steps) {
      db.commands.length = 0
      current = await db.store.transition(current, decide(current, event, actor, now))
      rows.push([label, db.commands.join(' + '), capacity])
    }
    printTable(['store operation', 'DynamoDB requests', 'capacity consumed'], rows)

    // Round-trip medians: transition (one UpdateItem) and get (one GetItem), 200 each.
    const transitions: number[] = []
    const reads: number[] = []
    for (let i = 0; i < 200; i++) {
      const fresh = pendingGrant(config)
      await db.store.create(fresh)
      let start = performance.now()
      await db.store.transition(fresh, decide(fresh, { type: 'approve' }, bob, at(10)))
      transitions.push(performance.now() - start)
      start = performance.now()
      await db.store.get(fresh.id)
      reads.push(performance.now() - start)
    }
    console.log(
      `embedded DynamoDB, median of 200: transition ${median(transitions).toFixed(2)} ms, get ${median(reads).toFixed(2)} ms (ratio ${(median(transitions) / median(reads)).toFixed(2)})`,
    )
  } finally {
    await db.close()
  }
}

function policyBuildTime() {
  const config = configFrom(specConfigObject())
  const target = config.targets.get('prod-db')
  if (!target) throw new Error('missing target')
  const samples: number[] = []
  for (let round = 0; round < 50; round++) {
    const start = performance.now()
    for (let i = 0; i < 1000; i++)
      buildGrantPolicy(config, target, new Date(Date.UTC(2026, 10, 23, 10, 0, i % 60)))
    samples.push((performance.now() - start) / 1000)
  }
  console.log(
    `policy build (prod-db, 2 regions), median of 50×1000: ${(median(samples) * 1000).toFixed(1)} µs; at ${isoSeconds(new Date())}`,
  )
}

/**
 * One grant's whole life on the real state machine (local runner, embedded DynamoDB): state
 * transitions (states entered), DynamoDB writes (every PutItem and UpdateItem, the Slack-side
 * request and approval included) and task invocations (Lambda invocations in AWS).
 */
async function workflowCounts() {
  const rows: string[][] = []
  for (const [label, target, approve] of [
    ['approved by a person, runs to expiry', 'prod-db', true],
    ['auto-approved, runs to expiry', 'dev-web', false],
  ] as const) {
    const plane = await startPlane(workflowConfig())
    try {
      plane.db.commands.length = 0
      const { grant } = await submitRequest(plane.control, {
        clientToken: newClientToken(),
        target,
        requester: 'U0ALICE',
        durationSeconds: 1,
        reason: 'bench',
      })
      if (approve) {
        await plane.until(grant.id, (current) => current.taskToken !== undefined)
        await approveRequest(plane.control, grant.id, { kind: 'slack', id: 'U0MANAGER1' })
      }
      const outcome = await plane.finished(grant.id)
      const writes = plane.db.commands.filter(
        (command) => command === 'PutItem' || command === 'UpdateItem',
      ).length
      const invocations = Object.values(outcome.invocations).reduce((sum, count) => sum + count, 0)
      rows.push([label, String(outcome.states.length), String(writes), String(invocations), outcome.status])
    } finally {
      await plane.close()
    }
  }
  printTable(
    ['grant (happy path)', 'state transitions', 'DynamoDB writes', 'task invocations', 'execution'],
    rows,
  )
  console.log('targets: ≤ 12 transitions, ≤ 6 writes, ≤ 5 invocations')
}

/** From a grant's expiresAt to its policy's removal, for 20 three-second grants at once. */
async function revocationLag() {
  const plane = await startPlane(workflowConfig())
  try {
    const removedAt = new Map<string, number>()
    const detach = plane.backend.detachPolicy.bind(plane.backend)
    plane.backend.detachPolicy = async (principal, policyName) => {
      await detach(principal, policyName)
      removedAt.set(policyName, Date.now())
    }
    const grants = await Promise.all(
      Array.from({ length: 20 }, () =>
        submitRequest(plane.control, {
          clientToken: newClientToken(),
          target: 'dev-web',
          requester: 'U0ALICE',
          durationSeconds: 3,
          reason: 'bench',
        }),
      ),
    )
    const lags: number[] = []
    for (const { grant } of grants) {
      await plane.finished(grant.id)
      const ended = await plane.db.store.get(grant.id)
      const removed = removedAt.get(grantPolicyName(grant.id))
      if (!ended?.expiresAt || removed === undefined) throw new Error(`${grant.id} did not end`)
      lags.push(removed - Date.parse(ended.expiresAt))
    }
    const sorted = [...lags].sort((a, b) => a - b)
    console.log(
      `\nlocal revocation lag after expiry (policy removed − expiresAt), 20 grants: median ${median(lags)} ms, max ${sorted.at(-1)} ms (target ≤ 1000 ms); still attached: ${plane.backend.policies.get(ALICE)?.size ?? 0}`,
    )
  } finally {
    await plane.close()
  }
}

console.log(`keyless bench — node ${process.version}`)
policySizes()
await storeWrites()
policyBuildTime()
await workflowCounts()
await revocationLag()
await reconcilerAtScale()
await memberAccountGrants()
await accessAckLatency()
await deployBundles()
await costs()
await slackHangTimes()
await stopTime()
await alertFunctionLatency()
await checkEventThroughput()
await auditAtScale()
