import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib'
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2'
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations'
import { PolicyStatement } from 'aws-cdk-lib/aws-iam'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'
import { answerWorkflowStatement } from './permissions.ts'

/** The path Bolt's receiver answers on, the same as `npm start`'s. */
export const SLACK_EVENTS_PATH = '/slack/events'

/**
 * How many requests a second the endpoint takes from anyone (Slack included) before answering
 * 429: far above a team's clicks, far below what an unsigned flood would cost in invocations.
 */
export const SLACK_THROTTLE = { rateLimit: 25, burstLimit: 50 }

/**
 * Slack's way in: an HTTP API (not a function URL) in front of the Slack function. Slack signs
 * every request and the function checks each signature (Bolt's AwsLambdaReceiver), so no IAM
 * authorizer; but an unauthenticated URL needs a throttle, and a function URL has none short of
 * reserved concurrency (which new accounts, limited to 10, cannot spare). The HTTP API throttles
 * at the stage, answers only POST /slack/events, logs every request, and the function refuses
 * bodies over 256 KB (Slack's are a few KB) before reading them.
 *
 * The function also hands its own follow-ups to itself asynchronously (functions/slack/later.ts),
 * so it may invoke itself, by a name fixed here because a role cannot reference its own
 * function; a follow-up that fails Lambda's retries lands in `failures`.
 */
export class SlackEndpoint extends Construct {
  readonly handler: KeylessFunction
  /** The HTTP API Slack calls: its 5xx answers are alarmed (Operations). */
  readonly api: HttpApi
  readonly requestUrl: string

  constructor(scope: Construct, id: string, props: FunctionSurroundings & { failures: IQueue }) {
    super(scope, id)
    const stack = Stack.of(this)
    const functionName = `${stack.stackName}-slack`
    this.handler = new KeylessFunction(this, 'Handler', {
      ...props,
      folder: 'slack',
      functionName,
      description: "Slack's requests and their follow-ups",
      timeout: Duration.seconds(10),
      // CPU grows with memory: the cold start is a person waiting for Slack's 3-second reply.
      memorySize: 1024,
      deadLetterQueue: props.failures,
    })
    this.handler
      .allow(
        new PolicyStatement({
          sid: 'StartGrantWorkflow',
          actions: ['states:StartExecution'],
          resources: [props.stateMachineArn],
        }),
      )
      .allow(answerWorkflowStatement())
      .allow(
        new PolicyStatement({
          sid: 'FollowUpLater',
          actions: ['lambda:InvokeFunction'],
          resources: [
            stack.formatArn({
              service: 'lambda',
              resource: 'function',
              resourceName: functionName,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      )

    const api = new HttpApi(this, 'Api', {
      description: 'keyless: Slack requests',
      createDefaultStage: false,
    })
    this.api = api
    api.addRoutes({
      path: SLACK_EVENTS_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('Slack', this.handler.function),
    })
    new HttpStage(this, 'Stage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: SLACK_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(
          new LogGroup(this, 'AccessLogs', {
            retention: RetentionDays.ONE_YEAR,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        ),
      },
    })
    this.requestUrl = `${api.apiEndpoint}${SLACK_EVENTS_PATH}`
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Slack cannot sign requests with IAM, Cognito or a JWT: it signs each with the app's signing secret (HMAC-SHA256), which the Slack function checks before it reads a request.",
    })
  }
}
