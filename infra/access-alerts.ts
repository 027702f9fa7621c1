import { Duration, Stack } from 'aws-cdk-lib'
import { EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events'
import { EventBus as EventBusTarget, LambdaFunction } from 'aws-cdk-lib/aws-events-targets'
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { ACCESS_EVENTS, EVENTBRIDGE_SOURCES } from '../shared/core/alerts/record.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'
import { actAsAgentsStatements, KEYLESS_ROLE_PATH } from './permissions.ts'

/**
 * CloudTrail's access events as EventBridge delivers them: the four event names, from the two
 * services that record them, matched on the record's own eventSource as well as the envelope's
 * source. The alert function checks all of it again.
 */
export const ACCESS_EVENT_PATTERN: EventPattern = {
  source: Object.keys(EVENTBRIDGE_SOURCES),
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: Object.keys(ACCESS_EVENTS),
    eventName: Object.values(ACCESS_EVENTS).flat(),
  },
}

/** EventBridge retries a failed delivery for up to this long, then gives it to the DLQ. */
const DELIVERY_RETRIES = { retryAttempts: 8, maxEventAge: Duration.hours(2) }

/**
 * Security alerts in the home region: the rule on the default bus (which also receives what
 * the regional satellites forward) and the alert function behind it. The function reads the
 * instances' tags (EC2 DescribeTags, which IAM cannot scope to resources). A delivery that
 * fails EventBridge's retries, or an invocation that fails Lambda's, lands in `failures`.
 */
export class AccessAlerts extends Construct {
  readonly handler: KeylessFunction
  readonly rule: Rule

  constructor(
    scope: Construct,
    id: string,
    props: FunctionSurroundings & { config: KeylessConfig; failures: IQueue },
  ) {
    super(scope, id)
    this.handler = new KeylessFunction(this, 'Handler', {
      ...props,
      folder: 'alerts',
      description: "judges CloudTrail's access events and alerts the security channel",
      timeout: Duration.seconds(30),
      deadLetterQueue: props.failures,
    }).allow(new PolicyStatement({ sid: 'InstanceTags', actions: ['ec2:DescribeTags'], resources: ['*'] }))
    // A member account's instance tags are read as its agent role.
    for (const statement of actAsAgentsStatements(props.config)) this.handler.allow(statement)
    this.rule = new Rule(this, 'Rule', {
      description: "keyless: CloudTrail's access events to the alert function",
      eventPattern: ACCESS_EVENT_PATTERN,
      targets: [
        new LambdaFunction(this.handler.function, { deadLetterQueue: props.failures, ...DELIVERY_RETRIES }),
      ],
    })
  }
}

/**
 * In every other configured region: the same rule, forwarding to the home region's default bus
 * (same account, so no bus policy is needed, only a role allowed to put events there).
 */
export class ForwardAccessEvents extends Construct {
  constructor(scope: Construct, id: string, props: { homeRegion: string; failures: IQueue }) {
    super(scope, id)
    const stack = Stack.of(this)
    const homeBus = EventBus.fromEventBusArn(
      this,
      'HomeBus',
      stack.formatArn({
        service: 'events',
        region: props.homeRegion,
        resource: 'event-bus',
        resourceName: 'default',
      }),
    )
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
      path: KEYLESS_ROLE_PATH,
      description: `keyless: forwards access events to ${props.homeRegion}`,
    })
    new Rule(this, 'Rule', {
      description: `keyless: CloudTrail's access events, forwarded to ${props.homeRegion}`,
      eventPattern: ACCESS_EVENT_PATTERN,
      targets: [new EventBusTarget(homeBus, { role, deadLetterQueue: props.failures })],
    })
  }
}
