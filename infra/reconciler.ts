import { Duration, Stack } from 'aws-cdk-lib'
import { Rule, Schedule } from 'aws-cdk-lib/aws-events'
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets'
import { PolicyStatement } from 'aws-cdk-lib/aws-iam'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { watchedPaths } from '../shared/core/alerts/heartbeat.ts'
import { KEYLESS_RULE_NAMES } from '../shared/core/alerts/keyless-pieces.ts'
import { HEARTBEAT_PARAMETER } from '../shared/core/alerts/record.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { grantExecutionsArn } from './grant-workflow.ts'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'
import {
  actAsAgentsStatements,
  homeGrantRoleStatements,
  principalPolicyStatements,
  sessionEndingStatements,
} from './permissions.ts'

/** How often the reconciler runs: a missed revocation is repaired within this plus its grace. */
export const RECONCILE_EVERY = Duration.minutes(5)

/**
 * The safety net: every few minutes, make IAM and Session Manager match the grants (remove
 * expired or orphaned `keyless-*` policies from the configured principals, end their sessions),
 * start a live grant's lost execution again, post security alerts Slack refused earlier, and
 * send the alert path's heartbeat. It lists and deletes inline policies, never puts one.
 */
export class Reconciler extends Construct {
  readonly handler: KeylessFunction

  constructor(
    scope: Construct,
    id: string,
    props: FunctionSurroundings & { config: KeylessConfig; failures: IQueue },
  ) {
    super(scope, id)
    this.handler = new KeylessFunction(this, 'Handler', {
      ...props,
      folder: 'reconciler',
      description: 'makes IAM and Session Manager match the grants; resends unsent alerts',
      // One run must end before the next starts.
      timeout: Duration.minutes(4),
      deadLetterQueue: props.failures,
    })
    for (const statement of [
      ...principalPolicyStatements(props.config, ['List', 'Delete']),
      ...homeGrantRoleStatements(props.config, ['List', 'Delete']),
      ...sessionEndingStatements(props.config),
      ...actAsAgentsStatements(props.config),
      new PolicyStatement({
        sid: 'FindLostExecutions',
        actions: ['states:DescribeExecution'],
        resources: [grantExecutionsArn(Stack.of(this))],
      }),
      new PolicyStatement({
        sid: 'RestartLostExecutions',
        actions: ['states:StartExecution'],
        resources: [props.stateMachineArn],
      }),
      // The heartbeats through CloudTrail: one parameter, in each region the home account watches.
      new PolicyStatement({
        sid: 'SendHeartbeat',
        actions: ['ssm:PutParameter'],
        resources: watchedPaths(props.config)
          .filter((path) => path.account === props.config.account)
          .map(
            (path) =>
              `arn:${props.config.partition}:ssm:${path.region}:${path.account}:parameter${HEARTBEAT_PARAMETER}`,
          ),
      }),
    ]) {
      this.handler.allow(statement)
    }
    new Rule(this, 'Schedule', {
      ruleName: KEYLESS_RULE_NAMES.reconciler,
      description: 'keyless: runs the reconciler',
      schedule: Schedule.rate(RECONCILE_EVERY),
      targets: [
        new LambdaFunction(this.handler.function, {
          deadLetterQueue: props.failures,
          retryAttempts: 2,
          // A run older than the next one is pointless.
          maxEventAge: RECONCILE_EVERY,
        }),
      ],
    })
  }
}
