import { Duration, Stack } from 'aws-cdk-lib'
import { EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events'
import { EventBus as EventBusTarget, LambdaFunction } from 'aws-cdk-lib/aws-events-targets'
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { KEYLESS_RULE_NAMES, KEYLESS_RULE_PREFIX } from '../shared/core/alerts/keyless-pieces.ts'
import {
  EVENTBRIDGE_SOURCES,
  HEARTBEAT_PARAMETER,
  WATCHED_EVENTS,
  type WatchKind,
} from '../shared/core/alerts/record.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { SHELL_DOCUMENT } from '../shared/core/policy/grant-policy.ts'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'
import { actAsAgentsStatements, KEYLESS_ROLE_PATH } from './permissions.ts'

/**
 * CloudTrail's watched events as EventBridge delivers them: each service's event names, under
 * the envelope's source of that service; changes only to keyless's
 * own rules and documents, and writes only of the heartbeat parameter (not every PutRule or
 * PutParameter in the account). IAM's are filtered by the alert function, which knows the grant
 * roles. The alert function checks all of it again.
 */
export const WATCHED_EVENT_PATTERN_JSON = {
  'detail-type': ['AWS API Call via CloudTrail'],
  $or: Object.entries(EVENTBRIDGE_SOURCES).flatMap(([source, eventSource]) =>
    watchedDetails(eventSource).map((detail) => ({ source: [source], detail })),
  ),
}

/** The same, as CDK's Rule takes it (`detailType`; `$or` passes through as it is). */
export const WATCHED_EVENT_PATTERN = {
  detailType: WATCHED_EVENT_PATTERN_JSON['detail-type'],
  $or: WATCHED_EVENT_PATTERN_JSON.$or,
} as EventPattern

/** The detail patterns of one service's watched events. */
function watchedDetails(eventSource: string): Record<string, unknown>[] {
  const events = WATCHED_EVENTS[eventSource] ?? {}
  const names = (kind: WatchKind, only: (name: string) => boolean = () => true) =>
    Object.entries(events)
      .filter(([name, of]) => of === kind && only(name))
      .map(([name]) => name)
  // The envelope's source names the service (only AWS may put an aws.* source on a bus); the
  // record's own eventSource is checked again by the function. The pattern stays small: EventBridge
  // takes at most 2,048 characters by default.
  const match = (eventName: string[], requestParameters?: Record<string, unknown>) =>
    eventName.length > 0 ? [{ eventName, ...(requestParameters ? { requestParameters } : {}) }] : []
  const keylessRule = [{ prefix: KEYLESS_RULE_PREFIX }]
  switch (eventSource) {
    case 'events.amazonaws.com':
      return [
        ...match(
          names('keyless-piece', (name) => name !== 'RemoveTargets'),
          { name: keylessRule },
        ),
        ...match(
          names('keyless-piece', (name) => name === 'RemoveTargets'),
          { rule: keylessRule },
        ),
      ]
    case 'ssm.amazonaws.com':
      return [
        ...match([...names('session'), ...names('command')]),
        ...match(names('keyless-piece'), {
          name: [
            { prefix: 'keyless-' },
            SHELL_DOCUMENT,
            { wildcard: '*:document/keyless-*' },
            { wildcard: `*:document/${SHELL_DOCUMENT}` },
          ],
        }),
        ...match(names('heartbeat'), { name: [HEARTBEAT_PARAMETER] }),
      ]
    default:
      return match(Object.keys(events))
  }
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
      ruleName: KEYLESS_RULE_NAMES.watched,
      description: "keyless: CloudTrail's watched events to the alert function",
      eventPattern: WATCHED_EVENT_PATTERN,
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
      ruleName: KEYLESS_RULE_NAMES.watched,
      description: `keyless: CloudTrail's watched events, forwarded to ${props.homeRegion}`,
      eventPattern: WATCHED_EVENT_PATTERN,
      targets: [new EventBusTarget(homeBus, { role, deadLetterQueue: props.failures })],
    })
  }
}
