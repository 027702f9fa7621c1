import { type Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib'
import type { ITable } from 'aws-cdk-lib/aws-dynamodb'
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda'
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { BUNDLED_CONFIG, lambdaBundling } from './bundling.ts'
import { KEYLESS_ROLE_PATH, ownLogsStatement, WILDCARD_REASONS } from './permissions.ts'

/** What every function is given: the one table, the workflow's ARN and the Slack secret's ARN. */
export interface FunctionSurroundings {
  /** The validated config file, bundled with every function. */
  configFile: string
  table: ITable
  stateMachineArn: string
  slackSecret: ISecret
}

export interface KeylessFunctionProps extends FunctionSurroundings {
  /** The folder under functions/ whose handler.ts this function runs. */
  folder: string
  description: string
  timeout: Duration
  /** Lambda gives CPU in proportion to memory: more memory is a faster cold start. */
  memorySize?: number
  /** Fixed only where an ARN must be known before the function exists. */
  functionName?: string
  /** Where an asynchronous invocation lands after Lambda's retries fail. */
  deadLetterQueue?: IQueue
}

const PROJECT_ROOT = new URL('../', import.meta.url).pathname
const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']

/**
 * One keyless function: Node 22 on arm64, bundled by esbuild with the config, JSON logs kept a
 * year, and a role of its own that starts with only what every function does — read and write
 * the grant table, read the Slack secret, write its own logs. Whatever else a function calls,
 * its construct adds to `role`, statement by statement.
 *
 * The environment holds exactly what functions/runtime/aws-deps.ts reads, and no secret: the
 * Slack secret's ARN, never its value.
 */
export class KeylessFunction extends Construct {
  readonly function: NodejsFunction
  readonly role: Role
  readonly logGroup: LogGroup

  constructor(scope: Construct, id: string, props: KeylessFunctionProps) {
    super(scope, id)
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      path: KEYLESS_ROLE_PATH,
      description: `keyless ${props.folder}: ${props.description}`,
    })
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    })
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}functions/${props.folder}/handler.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      ...(props.functionName ? { functionName: props.functionName } : {}),
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      bundling: lambdaBundling(props.configFile),
      environment: {
        TABLE_NAME: props.table.tableName,
        STATE_MACHINE_ARN: props.stateMachineArn,
        SLACK_SECRET_ARN: props.slackSecret.secretArn,
        KEYLESS_CONFIG: BUNDLED_CONFIG,
      },
    })
    this.allow(
      new PolicyStatement({
        sid: 'GrantTable',
        actions: TABLE_ACTIONS,
        resources: [props.table.tableArn, `${props.table.tableArn}/index/*`],
      }),
    )
    this.allow(
      new PolicyStatement({
        sid: 'SlackSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.slackSecret.secretArn],
      }),
    )
    this.allow(ownLogsStatement(this.logGroup))
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'keyless runs on nodejs22.x by design (docs/contract.md "Deploying"): the Node the tests and npm start use; moving to a newer runtime is a deliberate change of both.',
    })
  }

  /**
   * Adds one statement to this function's own role. A wildcard resource needs its reason in
   * WILDCARD_REASONS (by the statement's sid), which acknowledges cdk-nag's finding here.
   */
  allow(statement: PolicyStatement): this {
    this.role.addToPrincipalPolicy(statement)
    const wildcards = statement.resources.filter((resource) => resource.includes('*'))
    if (wildcards.length === 0 || statement.effect === Effect.DENY) return this
    const reason = statement.sid ? WILDCARD_REASONS[statement.sid] : undefined
    if (!reason)
      throw new Error(`statement ${statement.sid ?? '(no sid)'} has a wildcard resource and no reason for it`)
    Validations.of(this.role).acknowledge(
      ...wildcards.map((resource) => ({
        id: `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`,
        reason,
      })),
    )
    return this
  }
}

/**
 * A resource as cdk-nag names it in a finding: each token that resolves to `Fn::GetAtt` becomes
 * `<LogicalId.Attribute>`, literal text stays as it is.
 */
function nagResource(scope: Construct, resource: string): string {
  if (!Token.isUnresolved(resource)) return resource
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value
    const node = value as Record<string, unknown>
    if (Array.isArray(node['Fn::GetAtt'])) return `<${node['Fn::GetAtt'].join('.')}>`
    if (typeof node.Ref === 'string') return `<${node.Ref}>`
    const join = node['Fn::Join'] as [string, unknown[]] | undefined
    if (join) return join[1].map(render).join(join[0])
    throw new Error(`cannot name ${JSON.stringify(value)} as cdk-nag does`)
  }
  return render(Stack.of(scope).resolve(resource))
}
