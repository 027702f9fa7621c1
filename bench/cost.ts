/**
 * What keyless costs to run, from what a deployment is and what a grant does: the synthesized
 * templates of the example config (every billed resource counted), one idle reconciler run and
 * one grant's whole life run for real (local runner, embedded DynamoDB, the real Slack surface
 * and notifier, the alert service for its accesses), each counted as AWS would bill it, at the
 * list prices below. Prints `idle cost, home region`, `idle cost, each other region` and
 * `cost per grant`; README "What it costs" explains the lines.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keylessApp } from '../infra/keyless-app.ts'
import { synthesizeMemberTemplate } from '../infra/member-accounts.ts'
import { LocalAccessBackend } from '../local/access-backend.ts'
import { ConsoleSlackApi } from '../local/console-slack.ts'
import { DynamoReconcilerRuns } from '../shared/adapters/dynamodb/reconciler-runs.ts'
import { DynamoVerdictStore } from '../shared/adapters/dynamodb/verdict-store.ts'
import { ACTIONS } from '../shared/adapters/slack/actions.ts'
import { SlackSecurityChannel } from '../shared/adapters/slack/security-channel.ts'
import { onAccessCommand, onButton } from '../shared/adapters/slack/surface.ts'
import { evaluationContext } from '../shared/core/alerts/evaluate.ts'
import { watchedPaths } from '../shared/core/alerts/heartbeat.ts'
import { AlertService } from '../shared/core/alerts/service.ts'
import { systemClock } from '../shared/core/clock.ts'
import { EXAMPLE_CONFIG_FILE, loadConfigFile } from '../shared/core/config/load.ts'
import { reconcile } from '../shared/core/grants/reconciler.ts'
import type { Notice, Notifier } from '../shared/core/notify/notifier.ts'
import { access, assumedRole, startSession } from '../test/kit/cloudtrail.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { startPlaneWithSlack } from '../test/kit/plane.ts'
import { untilGrant } from '../test/kit/poll.ts'

/**
 * AWS public list prices, us-east-1 (eu-west-1 is the same for these), as published on
 * 2026-11-28; DynamoDB on-demand at its November 2024 price. Change them here when AWS does.
 */
export const PRICES = {
  date: '2026-11-28',
  alarmMetricMonth: 0.1, // CloudWatch standard-resolution alarm, per metric
  customMetricMonth: 0.3, // CloudWatch custom metric published all month
  secretMonth: 0.4, // Secrets Manager, per secret
  secretsApiCall: 0.05 / 10_000,
  kmsKeyMonth: 1.0,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaGbSecondArm: 0.0000133334,
  stateTransition: 0.025 / 1000, // Step Functions Standard
  dynamoWrite: 0.625 / 1_000_000, // on-demand write request unit
  dynamoRead: 0.125 / 1_000_000, // on-demand read request unit
  httpApiRequest: 1.0 / 1_000_000,
  crossAccountEvent: 1.0 / 1_000_000, // EventBridge, an event sent to another account's or region's bus
  xrayTrace: 5.0 / 1_000_000,
  logsIngestedGb: 0.5,
} as const

/**
 * What the bench cannot measure here, AWS's own latency, estimated: the billed duration of
 * one invocation of each kind (its few AWS calls dominate), and the log lines each writes.
 */
const BILLED_MS = { task: 200, slack: 300, alert: 150, reconciler: 300, audit: 60_000 } as const
const LOG_BYTES_PER_INVOCATION = 1500
/** Step Functions logs every state at level ALL: an entered and an exited event each. */
const LOG_BYTES_PER_TRANSITION = 2 * 800
/** A grant is used, say, for two sessions: two CloudTrail access events judged by the alert function. */
const ACCESSES_PER_GRANT = 2
/** keyless's own PutRolePolicy and DeleteRolePolicy: watched IAM events, judged and dropped. */
const KEYLESS_IAM_WRITES_PER_GRANT = 2
const MONTH_MINUTES = 30 * 24 * 60
const MB = 1024 * 1024
const ORGANIZATION_EXAMPLE_FILE = 'keyless.config.organization.example.yaml'
/** Each heartbeat's DynamoDB requests a run: the alert function's UpdateItem, the reconciler's consistent GetItem. */
const HEARTBEAT_REQUESTS = { writes: 1, reads: 1 }

interface Resource {
  Type: string
  Properties: Record<string, unknown>
}

export async function costs(): Promise<void> {
  const config = await loadConfigFile(EXAMPLE_CONFIG_FILE)
  const outdir = mkdtempSync(join(tmpdir(), 'keyless-bench-cost-'))
  let templates: { name: string; home: boolean; resources: Record<string, Resource> }[]
  try {
    const { app, home } = keylessApp(config, { configFile: EXAMPLE_CONFIG_FILE, outdir, skipBundling: true })
    const assembly = app.synth()
    templates = assembly.stacks.map((stack) => ({
      name: stack.stackName,
      home: stack.stackName === home.stackName,
      resources: JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')).Resources,
    }))
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
  const memoryOf = (resources: Record<string, Resource>, match: (id: string) => boolean): number => {
    const found = Object.entries(resources).find(
      ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && match(id),
    )
    return Number(found?.[1].Properties.MemorySize ?? 128)
  }
  const invocation = (memoryMb: number, ms: number) =>
    PRICES.lambdaRequest +
    (memoryMb / 1024) * (ms / 1000) * PRICES.lambdaGbSecondArm +
    (LOG_BYTES_PER_INVOCATION / 1024 / MB) * PRICES.logsIngestedGb

  const reconcilerRun = await idleReconcilerRun()
  const lines: string[] = []
  let homeIdle = 0
  let satelliteIdle = 0
  const homeResources = templates.find((template) => template.home)?.resources ?? {}
  // One heartbeat a run on every path the home account is watched on (its regions).
  const exampleConfig = await loadConfigFile(EXAMPLE_CONFIG_FILE)
  const homePaths = watchedPaths(exampleConfig)
  const forwarded = homePaths.filter((path) => path.region !== exampleConfig.region).length
  const perRun =
    invocation(
      memoryOf(homeResources, (id) => id.startsWith('Reconciler')),
      BILLED_MS.reconciler,
    ) +
    reconcilerRun.reads * PRICES.dynamoRead +
    reconcilerRun.writes * PRICES.dynamoWrite +
    // The Slack secret is read through a five-minute cache: once a run at most.
    PRICES.secretsApiCall +
    // Its heartbeats: the SSM writes and CloudTrail's delivery are free; the alert function is
    // invoked once for each and records it; the reconciler reads each record back; those from
    // other regions are forwarded to the home bus.
    homePaths.length *
      (invocation(
        memoryOf(homeResources, (id) => id.startsWith('Alerts')),
        BILLED_MS.alert,
      ) +
        HEARTBEAT_REQUESTS.writes * PRICES.dynamoWrite +
        HEARTBEAT_REQUESTS.reads * PRICES.dynamoRead) +
    forwarded * PRICES.crossAccountEvent
  for (const { home, resources } of templates) {
    // The alert function publishes HeartbeatsSeen all month: a custom metric, always.
    const idle = idleCost(
      resources,
      {
        'keyless-reconciler': perRun,
        // The audit reads IAM and asks its simulator (free); its run is its invocation.
        'keyless-audit': invocation(
          memoryOf(homeResources, (id) => id.startsWith('Audit')),
          BILLED_MS.audit,
        ),
      },
      home ? 1 : 0,
    )
    if (home) homeIdle = idle.total
    else satelliteIdle = Math.max(satelliteIdle, idle.total)
    lines.push(
      `  ${home ? 'home     ' : 'satellite'}: ${idle.text}${home ? ` (${reconcilerRun.reads} reads, ${reconcilerRun.writes} write(s) a run)` : ''}`,
    )
  }
  // A member account's region holds only what the StackSet puts there: nothing billed while idle;
  // each access event it forwards to the home bus is a cross-account event.
  const memberIdle = idleCost(await memberTemplateResources(), {})
  // Its heartbeat is judged at home: one alert invocation, two requests and one cross-account
  // event each reconciler run (every 5 minutes).
  const memberHeartbeat =
    (MONTH_MINUTES / 5) *
    (invocation(
      memoryOf(homeResources, (id) => id.startsWith('Alerts')),
      BILLED_MS.alert,
    ) +
      HEARTBEAT_REQUESTS.writes * PRICES.dynamoWrite +
      HEARTBEAT_REQUESTS.reads * PRICES.dynamoRead +
      PRICES.crossAccountEvent)
  lines.push(`  member   : ${memberIdle.text}`)

  const home = templates.find((template) => template.home)?.resources ?? {}
  const grant = await oneGrant()
  const taskMemory = memoryOf(home, (id) => id.startsWith('Workflow'))
  const slackMemory = memoryOf(home, (id) => id.startsWith('Slack'))
  const alertMemory = memoryOf(home, (id) => id.startsWith('Alerts'))
  const grantParts = {
    transitions: grant.transitions * PRICES.stateTransition,
    stateMachineLogs: ((grant.transitions * LOG_BYTES_PER_TRANSITION) / 1024 / MB) * PRICES.logsIngestedGb,
    trace: PRICES.xrayTrace,
    tasks: grant.taskInvocations * invocation(taskMemory, BILLED_MS.task),
    slack:
      grant.slackInvocations * invocation(slackMemory, BILLED_MS.slack) +
      grant.slackRequests * PRICES.httpApiRequest,
    // Its accesses, and keyless's own two IAM writes (attach, remove): IAM's events come from
    // us-east-1 to the alert function, which drops them unstored.
    alerts:
      (ACCESSES_PER_GRANT + KEYLESS_IAM_WRITES_PER_GRANT) * invocation(alertMemory, BILLED_MS.alert) +
      KEYLESS_IAM_WRITES_PER_GRANT * PRICES.crossAccountEvent,
    dynamo: grant.writes * PRICES.dynamoWrite + grant.reads * PRICES.dynamoRead,
  }
  const perGrant = Object.values(grantParts).reduce((sum, part) => sum + part, 0)

  console.log(
    `\ncosts at AWS list prices of ${PRICES.date} (us-east-1), from the synthesized templates of the example config and measured runs:`,
  )
  console.log(`idle cost, home region: $${homeIdle.toFixed(2)}/month`)
  console.log(`idle cost, each other region: $${satelliteIdle.toFixed(2)}/month`)
  console.log(
    `idle cost, each member account region: $${memberIdle.total.toFixed(2)}/month there, $${memberHeartbeat.toFixed(2)}/month at home for its heartbeat; each access event it forwards: $${PRICES.crossAccountEvent.toFixed(6)}`,
  )
  console.log(`cost per grant: $${perGrant.toFixed(5)}`)
  for (const line of lines) console.log(line)
  console.log(
    `  one grant (approved by a person, warned, expired; ${ACCESSES_PER_GRANT} accesses): ${grant.transitions} transitions, ${grant.taskInvocations} task + ${grant.slackInvocations} Slack (${grant.slackRequests} from Slack) + ${ACCESSES_PER_GRANT + KEYLESS_IAM_WRITES_PER_GRANT} alert invocations (${KEYLESS_IAM_WRITES_PER_GRANT} for keyless's own IAM writes), ${grant.writes} DynamoDB writes, ${grant.reads} reads, 1 trace; ${Object.entries(
      grantParts,
    )
      .map(([part, cost]) => `${part} $${cost.toFixed(6)}`)
      .join(', ')}`,
  )
  console.log(
    `  estimated billed durations: task ${BILLED_MS.task} ms, Slack ${BILLED_MS.slack} ms, alert ${BILLED_MS.alert} ms, reconciler ${BILLED_MS.reconciler} ms, audit ${BILLED_MS.audit / 1000} s`,
  )
  console.log(
    'targets: idle ≤ $2.00/month home, ≤ $0.10/month each other region, $0.00 each member account region, ≤ $0.0005 per grant',
  )
}

/**
 * What a template's resources cost a month while no grant runs: the billed ones, counted, and
 * `publishedByFunctions` custom metrics its functions publish all month (not in the template).
 */
function idleCost(
  resources: Record<string, Resource>,
  /** What one run of each scheduled rule costs, by the rule's name. */
  perScheduledRun: Record<string, number>,
  publishedByFunctions = 0,
): { total: number; text: string } {
  const all = Object.values(resources)
  const alarmMetrics = all
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
    .reduce((sum, alarm) => {
      const metrics = alarm.Properties.Metrics as { MetricStat?: unknown }[] | undefined
      return sum + (metrics ? metrics.filter((metric) => metric.MetricStat).length : 1)
    }, 0)
  // A metric filter without a default value publishes only when a line matches: idle, nothing.
  const alwaysPublished =
    publishedByFunctions +
    all.filter(
      (resource) =>
        resource.Type === 'AWS::Logs::MetricFilter' &&
        (resource.Properties.MetricTransformations as { DefaultValue?: unknown }[]).some(
          (metric) => metric.DefaultValue !== undefined,
        ),
    ).length
  const secrets = all.filter((resource) => resource.Type === 'AWS::SecretsManager::Secret').length
  const kmsKeys = all.filter((resource) => resource.Type === 'AWS::KMS::Key').length
  const schedules = all.filter(
    (resource) => resource.Type === 'AWS::Events::Rule' && resource.Properties.ScheduleExpression,
  )
  let runsPerMonth = 0
  let scheduled = 0
  for (const rule of schedules) {
    const [, count, unit] =
      /^rate\((\d+) (minute|hour|day)s?\)$/.exec(String(rule.Properties.ScheduleExpression)) ?? []
    const perRun = perScheduledRun[String(rule.Properties.Name)]
    if (!count || !unit || perRun === undefined)
      throw new Error(
        `a schedule the bench cannot price: ${rule.Properties.Name} ${rule.Properties.ScheduleExpression}`,
      )
    const runs = MONTH_MINUTES / (Number(count) * { minute: 1, hour: 60, day: 1440 }[unit as 'minute'])
    runsPerMonth += runs
    scheduled += runs * perRun
  }
  const parts = {
    alarms: alarmMetrics * PRICES.alarmMetricMonth,
    customMetrics: alwaysPublished * PRICES.customMetricMonth,
    secrets: secrets * PRICES.secretMonth,
    kms: kmsKeys * PRICES.kmsKeyMonth,
    schedule: scheduled,
  }
  const total = Object.values(parts).reduce((sum, part) => sum + part, 0)
  return {
    total,
    text: `${alarmMetrics} alarm metrics $${parts.alarms.toFixed(2)}, ${alwaysPublished} custom metrics published idle $${parts.customMetrics.toFixed(2)}, ${secrets} secret(s) $${parts.secrets.toFixed(2)}, ${kmsKeys} KMS keys, ${Math.round(runsPerMonth)} scheduled runs $${parts.schedule.toFixed(2)}`,
  }
}

/** The member accounts' template of the shipped organization example, synthesized offline. */
async function memberTemplateResources(): Promise<Record<string, Resource>> {
  const config = await loadConfigFile(ORGANIZATION_EXAMPLE_FILE)
  const outdir = mkdtempSync(join(tmpdir(), 'keyless-bench-cost-member-'))
  try {
    const template = synthesizeMemberTemplate(config, { outdir, cloudFormationValidation: false })
    return template.Resources as Record<string, Resource>
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

/** One reconciler run on an idle plane (no grants), as the scheduled function runs it: its DynamoDB requests. */
async function idleReconcilerRun(): Promise<{ reads: number; writes: number }> {
  const config = await loadConfigFile(EXAMPLE_CONFIG_FILE)
  const db = await startEmbeddedDynamo('keyless-cost-idle')
  try {
    const verdicts = new DynamoVerdictStore(db.client, db.tableName)
    db.commands.length = 0
    await reconcile({
      config,
      store: db.store,
      backend: new LocalAccessBackend([]),
      notifier: { send: async () => {} },
      clock: systemClock,
      warn: () => {},
    })
    await verdicts.listUnsent(50)
    await new DynamoReconcilerRuns(db.client, db.tableName).record({
      at: new Date().toISOString(),
      findings: 0,
      alertsPosted: 0,
    })
    return count(db.commands)
  } finally {
    await db.close()
  }
}

/**
 * One grant through the real parts: /access and Approve through the Slack surface (each a Slack
 * function invocation, each follow-up another), the workflow in the local runner over the real
 * tasks with the Slack notifier (App Home reads included), then two accesses judged by the
 * alert service.
 */
async function oneGrant() {
  const config = await loadConfigFile(EXAMPLE_CONFIG_FILE)
  const db = await startEmbeddedDynamo('keyless-cost-grant')
  const plane = await startPlaneWithSlack(db, new ConsoleSlackApi(() => {}), {
    config,
    expiryWarningSeconds: 1,
    instances: [
      { instanceId: 'i-0cost000000000001', region: config.region, tags: { 'access-target': 'prod-db' } },
    ],
  })
  const { backend, notifier } = plane
  const warn = () => {}
  try {
    let followUps = 0
    const later: Notifier = {
      send: async (notice: Notice) => {
        followUps += 1
        await notifier.send(notice)
      },
    }
    const surface = { control: plane.control, later, error: warn }
    db.commands.length = 0
    const triggerId = `cost-${Date.now()}`
    await onAccessCommand(surface, {
      user: 'U0ALICE',
      text: 'prod-db 3s measuring what a grant costs',
      triggerId,
    })
    const [grant] = await db.store.listByRequester('U0ALICE', { limit: 1 })
    if (!grant) throw new Error('the request made no grant')
    await untilGrant(db.store, grant.id, (current) => current.taskToken !== undefined, 5000)
    await onButton(surface, {
      action: ACTIONS.approve,
      value: grant.id,
      user: 'U0MANAGER1',
      channel: 'D0MANAGER1',
    })
    const execution = plane.workflow.executions.get(grant.id)
    const outcome = await execution?.done
    if (outcome?.status !== 'SUCCEEDED') throw new Error(`the grant's execution ended ${outcome?.status}`)
    const alerts = new AlertService({
      context: evaluationContext(config, backend, db.store),
      grants: db.store,
      verdicts: new DynamoVerdictStore(db.client, db.tableName),
      securityChannel: new SlackSecurityChannel(new ConsoleSlackApi(() => {}), config.slack.securityChannel),
      clock: systemClock,
      warn,
    })
    const ended = await db.store.get(grant.id)
    for (let n = 0; n < ACCESSES_PER_GRANT; n++) {
      await alerts.handle(
        access(
          startSession({
            eventID: `cost-${grant.id}-${n}`,
            eventTime: ended?.activatedAt,
            userIdentity: assumedRole('alice-ops', 'alice', { mfa: true }),
            requestParameters: { target: 'i-0cost000000000001' },
          }),
        ),
      )
    }
    return {
      transitions: execution?.states.length ?? 0,
      taskInvocations: Object.values(execution?.invocations ?? {}).reduce((sum, count) => sum + count, 0),
      // The command and the click arrive from Slack; each follow-up is one more invocation.
      slackRequests: 2,
      slackInvocations: 2 + followUps,
      ...count(db.commands),
    }
  } finally {
    await plane.workflow.stop()
    await db.close()
  }
}

function count(commands: string[]): { reads: number; writes: number } {
  return {
    writes: commands.filter((command) => ['PutItem', 'UpdateItem', 'DeleteItem'].includes(command)).length,
    reads: commands.filter((command) => ['GetItem', 'Query', 'Scan'].includes(command)).length,
  }
}
