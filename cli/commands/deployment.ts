import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation'
import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail'
import { DescribeRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge'
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn'
import type { ReconcilerRun } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { parseSlackSecret } from '../../shared/adapters/slack/secret.ts'
import { HEARTBEAT_SILENCE_SECONDS, type HeartbeatState } from '../../shared/core/alerts/heartbeat.ts'
import type { Clock } from '../../shared/core/clock.ts'
import { KeylessError } from '../../shared/core/errors.ts'

/**
 * `keyless doctor --stack`: is a deployed plane whole, end to end, without an instance or a
 * person? Each check reads one thing the stack depends on and says what is wrong in a sentence.
 */

/** The home stack's outputs (infra/keyless-stack.ts) the doctor needs. */
export interface StackOutputs {
  GrantTableName: string
  StateMachineArn: string
  SlackSecretArn: string
  AlertRuleName: string
}
const OUTPUTS: (keyof StackOutputs)[] = [
  'GrantTableName',
  'StateMachineArn',
  'SlackSecretArn',
  'AlertRuleName',
]

export interface DeploymentCheck {
  check: 'slack' | 'trail' | 'alert-rule' | 'reconciler' | 'alert-path' | 'state-machine'
  ok: boolean
  detail: string
}

export interface DeploymentDeps {
  region: string
  secrets: SecretsManagerClient
  cloudTrail: CloudTrailClient
  events: EventBridgeClient
  sfn: SFNClient
  lastReconcilerRun: () => Promise<ReconcilerRun | undefined>
  heartbeat: () => Promise<HeartbeatState>
  clock: Clock
  /** The Slack Web API's base URL (SLACK_API_URL), Slack's by default. */
  slackApiUrl?: string
}

/** The reconciler runs every five minutes (infra/reconciler.ts): two missed runs are a problem. */
const RECONCILER_LATE_SECONDS = 11 * 60

export async function stackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackOutputs> {
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))
  const outputs = new Map(
    (Stacks?.[0]?.Outputs ?? []).map((output: Output) => [output.OutputKey, output.OutputValue]),
  )
  const missing = OUTPUTS.filter((key) => !outputs.get(key))
  if (missing.length > 0) {
    throw new KeylessError(
      'STACK_OUTPUTS_MISSING',
      `stack ${stackName} has no output ${missing.join(', ')}: is it keyless's home stack, deployed by this version?`,
    )
  }
  return Object.fromEntries(OUTPUTS.map((key) => [key, outputs.get(key) ?? ''])) as unknown as StackOutputs
}

export const cloudFormationClient = (region: string | undefined) =>
  new CloudFormationClient(region ? { region } : {})

export async function checkDeployment(
  deps: DeploymentDeps,
  outputs: StackOutputs,
): Promise<DeploymentCheck[]> {
  const checks: [DeploymentCheck['check'], () => Promise<string>][] = [
    ['slack', () => checkSlack(deps, outputs.SlackSecretArn)],
    ['trail', () => checkTrail(deps)],
    ['alert-rule', () => checkAlertRule(deps, outputs.AlertRuleName)],
    ['reconciler', () => checkReconciler(deps)],
    ['alert-path', () => checkAlertPath(deps)],
    ['state-machine', () => checkStateMachine(deps, outputs.StateMachineArn)],
  ]
  const results: DeploymentCheck[] = []
  for (const [check, run] of checks) {
    try {
      results.push({ check, ok: true, detail: await run() })
    } catch (error) {
      results.push({ check, ok: false, detail: (error as Error).message })
    }
  }
  return results
}

async function checkSlack(deps: DeploymentDeps, arn: string): Promise<string> {
  const { SecretString } = await deps.secrets.send(new GetSecretValueCommand({ SecretId: arn }))
  let botToken: string
  try {
    botToken = parseSlackSecret(arn, SecretString).botToken
  } catch (error) {
    throw new Error(`${(error as Error).message}; put the app's credentials there (README "Deploy")`)
  }
  const client = createSlackClient(botToken, deps.slackApiUrl ? { slackApiUrl: deps.slackApiUrl } : {})
  const answer = await client.auth.test().catch((error: Error & { data?: { error?: string } }) => {
    throw new Error(`Slack refused the bot token (auth.test: ${error.data?.error ?? error.message})`)
  })
  return `the secret is set and Slack answers auth.test as ${answer.user ?? 'the bot'} in ${answer.team ?? 'the workspace'}`
}

/** A trail that logs management events (StartSession, SendSSHPublicKey) in the home region. */
async function checkTrail(deps: DeploymentDeps): Promise<string> {
  const { trailList } = await deps.cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))
  const covering = (trailList ?? []).filter(
    (trail: Trail) => trail.IsMultiRegionTrail || trail.HomeRegion === deps.region,
  )
  for (const trail of covering) {
    const name = trail.TrailARN ?? trail.Name ?? ''
    const status = await deps.cloudTrail.send(new GetTrailStatusCommand({ Name: name }))
    if (!status.IsLogging) continue
    const selectors = await deps.cloudTrail.send(new GetEventSelectorsCommand({ TrailName: name }))
    const basic = (selectors.EventSelectors ?? []).some(
      (selector) => selector.IncludeManagementEvents !== false && selector.ReadWriteType !== 'ReadOnly',
    )
    const advanced = (selectors.AdvancedEventSelectors ?? []).some((selector) =>
      (selector.FieldSelectors ?? []).some(
        (field) => field.Field === 'eventCategory' && (field.Equals ?? []).includes('Management'),
      ),
    )
    if (basic || advanced) return `trail ${trail.Name} logs management events in ${deps.region}`
  }
  throw new Error(
    `no logging trail records management events in ${deps.region}: EventBridge then receives no StartSession or SendSSHPublicKey, and nothing is alerted (create one, or deploy with -c keyless:createTrail=true)`,
  )
}

async function checkAlertRule(deps: DeploymentDeps, name: string): Promise<string> {
  const rule = await deps.events.send(new DescribeRuleCommand({ Name: name }))
  if (rule.State !== 'ENABLED')
    throw new Error(`the alert rule ${name} is ${rule.State}: no access is checked`)
  return `the alert rule ${name} is enabled`
}

async function checkReconciler(deps: DeploymentDeps): Promise<string> {
  const last = await deps.lastReconcilerRun()
  if (!last) throw new Error('the reconciler has never recorded a run: is its schedule enabled?')
  const ago = Math.round((deps.clock.now().getTime() - Date.parse(last.at)) / 1000)
  const when = `last ran ${last.at} (${Math.max(0, Math.round(ago / 60))} min ago)`
  if (ago > RECONCILER_LATE_SECONDS) throw new Error(`the reconciler ${when}; it runs every 5 minutes`)
  return `the reconciler ${when}: ${last.findings} finding(s), ${last.alertsPosted} alert(s) posted`
}

/** The heartbeat came through CloudTrail to the alert function within the silence the reconciler allows. */
async function checkAlertPath(deps: DeploymentDeps): Promise<string> {
  const { lastSeenAt, watchingSince } = await deps.heartbeat()
  const now = deps.clock.now().getTime()
  if (!lastSeenAt) {
    const waited = watchingSince ? ` since ${watchingSince}` : ''
    throw new Error(
      `no heartbeat has reached the alert function${waited}: CloudTrail, the rule or the alert function is not passing events on (a first one takes up to 15 minutes after deploying)`,
    )
  }
  const ago = Math.round((now - Date.parse(lastSeenAt)) / 1000)
  const when = `the last heartbeat came through ${lastSeenAt} (${Math.max(0, Math.round(ago / 60))} min ago)`
  if (ago > HEARTBEAT_SILENCE_SECONDS) throw new Error(`${when}: access may be going unseen`)
  return when
}

async function checkStateMachine(deps: DeploymentDeps, arn: string): Promise<string> {
  const machine = await deps.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))
  if (machine.status !== 'ACTIVE') throw new Error(`the grant workflow ${arn} is ${machine.status}`)
  return `the grant workflow ${machine.name} is active`
}
