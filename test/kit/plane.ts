import { LocalAccessBackend, type LocalInstance } from '../../local/access-backend.ts'
import { createLocalControlPlane, type LocalControlPlaneParts } from '../../local/control-plane.ts'
import type { SlackApi } from '../../shared/adapters/slack/api.ts'
import { SlackNotifier } from '../../shared/adapters/slack/notifier.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import type { Grant, GrantStatus } from '../../shared/core/grants/grant.ts'
import { configFrom, specConfigObject } from './config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from './dynamo.ts'
import { RecordingNotifier } from './notifier.ts'
import { untilGrant } from './poll.ts'

export const ALICE = 'arn:aws:iam::111122223333:role/alice-ops'
export const BOB = 'arn:aws:iam::111122223333:role/bob-ops'

/**
 * The SPEC config with durations a test can wait out: prod-db approved by a person within
 * `approvalTimeout`, dev-web auto-approved.
 */
export function workflowConfig(approvalTimeout = '10m'): KeylessConfig {
  const raw = specConfigObject()
  raw.defaults.approvalTimeout = approvalTimeout
  raw.people.U0BOB = { principal: BOB }
  return configFrom(raw)
}

/** The local instances: two tagged prod-db (one per region), one dev-web. */
export const INSTANCES = [
  { instanceId: 'i-0prod0000000000001', region: 'eu-west-1', tags: { 'access-target': 'prod-db' } },
  { instanceId: 'i-0prod0000000000002', region: 'us-east-1', tags: { 'access-target': 'prod-db' } },
  { instanceId: 'i-0web00000000000001', region: 'eu-west-1', tags: { 'access-target': 'dev-web' } },
]

let tables = 0

/** The grant workflow on this machine: embedded DynamoDB, local runner, local IAM/SSM stand-in, real time. */
export async function startPlane(
  config = workflowConfig(),
  extra: Pick<LocalControlPlaneParts, 'intercept' | 'expiryWarningSeconds'> = {},
  db?: EmbeddedDynamo,
) {
  const dynamo = db ?? (await startEmbeddedDynamo(`grants-${++tables}`))
  const backend = new LocalAccessBackend(INSTANCES)
  const notifier = new RecordingNotifier()
  const warnings: string[] = []
  const plane = await createLocalControlPlane({
    config,
    store: dynamo.store,
    backend,
    notifier,
    clock: systemClock,
    warn: (message) => warnings.push(message),
    retryIntervalMs: 5,
    ...extra,
  })
  const until = (grantId: string, check: (grant: Grant) => boolean, timeoutMs = 5000): Promise<Grant> =>
    untilGrant(dynamo.store, grantId, check, timeoutMs)

  return {
    ...plane,
    db: dynamo,
    backend,
    notifier,
    warnings,
    until,
    untilStatus: (grantId: string, status: GrantStatus, timeoutMs?: number) =>
      until(grantId, (grant) => grant.status === status, timeoutMs),
    /** The execution's end, once it has one. */
    finished: async (grantId: string) => {
      const execution = plane.workflow.executions.get(grantId)
      if (!execution) throw new Error(`no execution for ${grantId}`)
      return { ...(await execution.done), states: execution.states, invocations: execution.invocations }
    },
    close: () => (db ? Promise.resolve() : dynamo.close()),
  }
}

export type Plane = Awaited<ReturnType<typeof startPlane>>

/**
 * The grant workflow with the real Slack notifier over `slack` (a loopback Web API's client, or
 * the console): what people would be sent is sent, with every store read it costs.
 */
export async function startPlaneWithSlack(
  db: EmbeddedDynamo,
  slack: SlackApi,
  extra: Partial<Omit<LocalControlPlaneParts, 'store' | 'notifier' | 'backend'>> & {
    instances?: LocalInstance[]
  } = {},
) {
  const { instances = INSTANCES, ...parts } = extra
  const config = parts.config ?? workflowConfig()
  const warnings: string[] = []
  const warn = (message: string, details: Record<string, unknown>) =>
    warnings.push(`${message} ${JSON.stringify(details)}`)
  const backend = new LocalAccessBackend(instances)
  const notifier = new SlackNotifier({ config, store: db.store, slack, clock: systemClock, warn })
  const plane = await createLocalControlPlane({
    clock: systemClock,
    warn,
    retryIntervalMs: 5,
    ...parts,
    config,
    store: db.store,
    backend,
    notifier,
  })
  return { ...plane, backend, notifier, warnings }
}
