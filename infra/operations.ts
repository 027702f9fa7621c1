import { Duration, Validations } from 'aws-cdk-lib'
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2'
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch'
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions'
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs'
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns'
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions'
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs'
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions'
import { Construct } from 'constructs'
import { KEYLESS_METRICS } from '../functions/runtime/metrics.ts'
import type { KeylessFunction } from './keyless-function.ts'

/** Where the alarms go: a new topic mailing `email`, an existing topic, or nowhere (the console). */
export interface AlarmDestination {
  alarmEmail?: string
  alarmTopicArn?: string
}

/**
 * Where asynchronous work that failed all its retries lands, so nothing fails silently: Slack
 * follow-ups, CloudTrail events for the alert function, reconciler runs, forwarded events.
 * Kept 14 days (SQS's longest) for an operator to read and redrive; its depth is alarmed.
 */
export class FailedInvocations extends Construct {
  readonly queue: Queue

  constructor(scope: Construct, id: string) {
    super(scope, id)
    this.queue = new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    })
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of Lambda and EventBridge targets; it has no DLQ of its own.',
    })
  }

  /** Messages waiting: anything at all means work that failed for good. */
  metricWaiting(): IMetric {
    return this.queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: 'Maximum',
    })
  }
}

/**
 * The alarms an operator needs, each firing on the first occurrence: a grant workflow that
 * failed, a grant whose revocation failed (REVOKE_FAILED: someone may still have access), a
 * repair by the reconciler (the workflow missed something), a function that failed, Slack's
 * requests answered with a server error, work left in the failure queue, and no heartbeat through
 * CloudTrail to the alert function for 30 minutes.
 *
 * CloudWatch bills every metric an alarm watches ($0.10 a month each), so the functions share
 * one: each function's log group has a metric filter counting its failures (an error logged,
 * an invocation that errored, timed out or crashed) into one `keyless/FunctionErrors` metric,
 * published only when something fails. A throttled function shows where its caller does: a
 * workflow task's throttling fails the execution once the state machine's retries are spent
 * (WorkflowFailed), an asynchronous invocation's lands in the failure queue (FailedInvocations),
 * the Slack function's is a 5xx to Slack (SlackServerErrors).
 */
export class Operations extends Construct {
  readonly topic: ITopic | undefined

  constructor(
    scope: Construct,
    id: string,
    props: AlarmDestination & {
      stateMachine: StateMachine
      /** Every function, by a name for its alarm. */
      functions: Record<string, KeylessFunction>
      markRevocationFailed: KeylessFunction
      slackApi: HttpApi
      failures: FailedInvocations
    },
  ) {
    super(scope, id)
    this.topic = alarmTopic(this, props)
    const alarm = (name: string, description: string, metric: IMetric) =>
      keylessAlarm(this, name, description, metric, this.topic)
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' }

    alarm(
      'WorkflowFailed',
      'a grant workflow execution failed, timed out or was aborted: see the state machine',
      new MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: props.stateMachine.metricFailed(fiveMinutes),
          timedOut: props.stateMachine.metricTimedOut(fiveMinutes),
          aborted: props.stateMachine.metricAborted(fiveMinutes),
        },
        period: Duration.minutes(5),
      }),
    )
    // The task runs exactly when a grant becomes REVOKE_FAILED.
    alarm(
      'RevokeFailed',
      'a grant is REVOKE_FAILED: access may remain; keyless doctor lists it, the reconciler retries it',
      props.markRevocationFailed.function.metricInvocations(fiveMinutes),
    )
    alarm(
      'ReconcilerRepaired',
      'the reconciler repaired grants the workflow missed: its report is in the security channel',
      new Metric({
        namespace: KEYLESS_METRICS.namespace,
        metricName: KEYLESS_METRICS.reconcilerRepairs,
        dimensionsMap: { service: KEYLESS_METRICS.service },
        ...fiveMinutes,
      }),
    )
    alarm(
      'FailedInvocations',
      'asynchronous work failed every retry and waits in the failure queue',
      props.failures.metricWaiting(),
    )
    for (const [name, fn] of Object.entries(props.functions)) {
      new MetricFilter(this, `${name}Failures`, {
        logGroup: fn.logGroup,
        filterPattern: FUNCTION_FAILURE,
        metricNamespace: KEYLESS_METRICS.namespace,
        metricName: KEYLESS_METRICS.functionErrors,
        metricValue: '1',
      })
    }
    alarm(
      'FunctionErrors',
      'a function failed (an error logged, or an invocation that errored, timed out or crashed): search the functions\' logs for "level":"ERROR" or a non-success status',
      new Metric({
        namespace: KEYLESS_METRICS.namespace,
        metricName: KEYLESS_METRICS.functionErrors,
        ...fiveMinutes,
      }),
    )
    // The heartbeat's alarm is the other way round: it fires on what did not come.
    const silent = new Alarm(this, 'AlertPathSilent', {
      alarmDescription:
        'keyless: no heartbeat reached the alert function for 30 minutes: access may be going unseen (the trail, the rule keyless-watched-events, the alert function, the reconciler); keyless doctor --stack checks each',
      metric: new Metric({
        namespace: KEYLESS_METRICS.namespace,
        metricName: KEYLESS_METRICS.heartbeatsSeen,
        dimensionsMap: { service: KEYLESS_METRICS.service },
        ...fiveMinutes,
      }),
      threshold: 1,
      evaluationPeriods: 6,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
    })
    if (this.topic) silent.addAlarmAction(new SnsAction(this.topic))
    alarm(
      'SlackServerErrors',
      "Slack's requests were answered with a server error (the Slack function failed or was throttled): Slack shows people an error",
      props.slackApi.metricServerError(fiveMinutes),
    )
  }
}

/**
 * A failure in a function's JSON log: a line logged at ERROR (Powertools, or the runtime's own
 * report of an unhandled error), or a platform record of an invocation that errored, timed out
 * or crashed.
 */
export const FUNCTION_FAILURE = FilterPattern.any(
  FilterPattern.stringValue('$.level', '=', 'ERROR'),
  FilterPattern.stringValue('$.record.status', '=', 'error'),
  FilterPattern.stringValue('$.record.status', '=', 'timeout'),
  FilterPattern.stringValue('$.record.status', '=', 'failure'),
)

/** An alarm on the first occurrence of `metric`, sent to `topic` when there is one. */
export function keylessAlarm(
  scope: Construct,
  id: string,
  description: string,
  metric: IMetric,
  topic: ITopic | undefined,
): Alarm {
  const alarm = new Alarm(scope, id, {
    alarmDescription: `keyless: ${description}`,
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  })
  if (topic) alarm.addAlarmAction(new SnsAction(topic))
  return alarm
}

/** The topic alarms go to in this stack's region (alarm actions cannot cross regions). */
export function alarmTopic(scope: Construct, props: AlarmDestination): ITopic | undefined {
  if (props.alarmTopicArn) return Topic.fromTopicArn(scope, 'AlarmTopic', props.alarmTopicArn)
  if (!props.alarmEmail) return undefined
  const topic = new Topic(scope, 'AlarmTopic', { displayName: 'keyless alarms', enforceSSL: true })
  topic.addSubscription(new EmailSubscription(props.alarmEmail))
  Validations.of(topic).acknowledge({
    id: 'AwsSolutions-SNS2',
    reason:
      'Alarm notifications carry no secret (alarm names and states); SNS-owned encryption at rest applies.',
  })
  return topic
}
