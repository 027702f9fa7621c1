import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib'
import { Secret } from 'aws-cdk-lib/aws-secretsmanager'
import type { Construct } from 'constructs'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { AccessAlerts, ForwardAccessEvents } from './access-alerts.ts'
import { AccessTrail } from './access-trail.ts'
import { StandingAccessAudit } from './audit.ts'
import type { DeployOptions } from './deploy-options.ts'
import { grantBoundary } from './grant-boundary.ts'
import { GrantWorkflow, grantWorkflowArn } from './grant-workflow.ts'
import { GrantsTable } from './grants-table.ts'
import type { FunctionSurroundings } from './keyless-function.ts'
import { MemberAccounts } from './member-accounts.ts'
import { alarmTopic, FailedInvocations, keylessAlarm, Operations } from './operations.ts'
import { needsHomeGrantRoles } from './permissions.ts'
import { Reconciler } from './reconciler.ts'
import { SessionDocuments } from './session-documents.ts'
import { SlackEndpoint } from './slack-endpoint.ts'

export interface KeylessStackProps extends StackProps {
  config: KeylessConfig
  /** The validated config file, bundled with every function. */
  configFile: string
  options: DeployOptions
  /** With an organization: the member accounts' StackSet template (`synthesizeMemberTemplate`). */
  memberTemplate?: Record<string, unknown>
}

/**
 * The home-region stack, one construct per capability: the grant table, the Slack secret, the
 * grant workflow and its tasks, Slack's endpoint, the security alerts, the reconciler, the
 * Session documents of this region, the alarms, (if asked) a trail, and (with an organization)
 * the member accounts' StackSet.
 */
export class KeylessStack extends Stack {
  readonly grants: GrantsTable
  readonly workflow: GrantWorkflow
  readonly slack: SlackEndpoint
  readonly alerts: AccessAlerts
  readonly reconciler: Reconciler
  readonly audit: StandingAccessAudit
  readonly operations: Operations

  constructor(scope: Construct, id: string, props: KeylessStackProps) {
    super(scope, id, props)
    const { config } = props
    this.grants = new GrantsTable(this, 'Grants')
    const slackSecret = new Secret(this, 'SlackSecret', {
      description:
        'keyless: the Slack app\'s credentials as {"signingSecret": "…", "botToken": "xoxb-…"} (see README "Deploy")',
    })
    Validations.of(slackSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "A Slack signing secret and bot token are issued by Slack, not by an AWS rotation function; rotate them in Slack's app settings and put the new values here.",
    })
    const failures = new FailedInvocations(this, 'Failures')
    const surroundings: FunctionSurroundings = {
      configFile: props.configFile,
      table: this.grants.table,
      stateMachineArn: grantWorkflowArn(this),
      slackSecret,
    }
    this.workflow = new GrantWorkflow(this, 'Workflow', { ...surroundings, config })
    this.slack = new SlackEndpoint(this, 'Slack', { ...surroundings, failures: failures.queue })
    this.alerts = new AccessAlerts(this, 'Alerts', { ...surroundings, config, failures: failures.queue })
    this.reconciler = new Reconciler(this, 'Reconciler', {
      ...surroundings,
      config,
      failures: failures.queue,
    })
    // Its id names its role Keyless-Audit…, which member accounts' auditor roles trust.
    this.audit = new StandingAccessAudit(this, 'Audit', { ...surroundings, config, failures: failures.queue })
    if (config.regions.includes(config.region)) new SessionDocuments(this, 'SessionDocuments', { config })
    if (props.options.createTrail) new AccessTrail(this, 'Trail')
    // An Identity Center person's grants on home targets go on grant roles here, bounded by it.
    if (needsHomeGrantRoles(config)) grantBoundary(this, 'GrantBoundary')
    if (config.organization && props.memberTemplate) {
      new MemberAccounts(this, 'MemberAccounts', {
        config,
        organization: config.organization,
        template: props.memberTemplate,
      })
    }

    this.operations = new Operations(this, 'Operations', {
      ...props.options,
      stateMachine: this.workflow.stateMachine,
      functions: {
        ...Object.fromEntries(
          // Each task function by its construct id (AttachAccess, RevokeAccess, …).
          Object.values(this.workflow.tasks).map((fn) => [fn.node.id, fn]),
        ),
        Slack: this.slack.handler,
        Alerts: this.alerts.handler,
        Reconciler: this.reconciler.handler,
        Audit: this.audit.handler,
      },
      markRevocationFailed: this.workflow.tasks.MarkRevocationFailedFunctionArn,
      slackApi: this.slack.api,
      failures,
    })

    new CfnOutput(this, 'SlackRequestUrl', {
      value: this.slack.requestUrl,
      description: "The Slack app's request URL: keyless slack-manifest --url <this>",
    })
    new CfnOutput(this, 'SlackSecretArn', {
      value: slackSecret.secretArn,
      description: 'Put the Slack signing secret and bot token here (README "Deploy")',
    })
    new CfnOutput(this, 'GrantTableName', { value: this.grants.table.tableName })
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn })
    // What `keyless doctor --stack` checks besides the above: the alert rule is enabled.
    new CfnOutput(this, 'AlertRuleName', { value: this.alerts.rule.ruleName })
  }
}

export interface SatelliteStackProps extends StackProps {
  config: KeylessConfig
  options: DeployOptions
  /** Whether targets live in this region (not so in the global-events region unless configured). */
  sessionDocuments: boolean
}

/**
 * Every other configured region, and the global-events region: its Session documents (where
 * targets are), and its watched CloudTrail events forwarded to the home region's bus (CloudTrail events reach EventBridge in their own region
 * only). What fails forwarding waits in a regional queue, alarmed.
 */
export class SatelliteStack extends Stack {
  constructor(scope: Construct, id: string, props: SatelliteStackProps) {
    super(scope, id, props)
    if (props.sessionDocuments) new SessionDocuments(this, 'SessionDocuments', { config: props.config })
    const failures = new FailedInvocations(this, 'Failures')
    new ForwardAccessEvents(this, 'ForwardAccessEvents', {
      homeRegion: props.config.region,
      failures: failures.queue,
    })
    keylessAlarm(
      this,
      'FailedForwarding',
      `watched events of ${this.region} failed to reach ${props.config.region}: they wait in the failure queue`,
      failures.metricWaiting(),
      alarmTopic(this, props.options),
    )
  }
}
