import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib'
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions'
import { Construct } from 'constructs'
import { GRANT_WORKFLOW_FOLDERS, type GrantWorkflowTask } from '../functions/grant-workflow-folders.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'
import {
  actAsAgentsStatements,
  answerWorkflowStatement,
  homeGrantRoleStatements,
  instanceListingStatement,
  KEYLESS_ROLE_PATH,
  principalPolicyStatements,
  sessionEndingStatements,
} from './permissions.ts'

export const GRANT_WORKFLOW_FILE = new URL('../statemachines/grant.asl.json', import.meta.url).pathname

/** The workflow's name, fixed so its ARN is known before it exists (its tasks need it). */
export const grantWorkflowName = (stack: Stack): string => `${stack.stackName}-grant-workflow`

/** The workflow's ARN, built rather than referenced: the functions it invokes cannot depend on it. */
export const grantWorkflowArn = (stack: Stack): string =>
  stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: grantWorkflowName(stack),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  })

/** The ARNs of the workflow's executions (`<grant id>`, `<grant id>-2`, …): what DescribeExecution names. */
export const grantExecutionsArn = (stack: Stack): string =>
  stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${grantWorkflowName(stack)}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  })

/** What each task calls beyond the table and Slack, and nothing more. */
function taskStatements(config: KeylessConfig): Record<GrantWorkflowTask, PolicyStatement[]> {
  return {
    AskForApprovalFunctionArn: [answerWorkflowStatement()],
    RemindApproversFunctionArn: [],
    TimeOutRequestFunctionArn: [],
    AttachAccessFunctionArn: [
      ...principalPolicyStatements(config, ['Put']),
      ...homeGrantRoleStatements(config, ['Put']),
      instanceListingStatement(),
      ...actAsAgentsStatements(config),
    ],
    WaitForEndFunctionArn: [answerWorkflowStatement()],
    WarnOfExpiryFunctionArn: [],
    ExtendAccessFunctionArn: [
      ...principalPolicyStatements(config, ['Put']),
      ...homeGrantRoleStatements(config, ['Put']),
      ...actAsAgentsStatements(config),
    ],
    RevokeAccessFunctionArn: [
      ...principalPolicyStatements(config, ['Delete']),
      ...homeGrantRoleStatements(config, ['Delete']),
      ...sessionEndingStatements(config),
      ...actAsAgentsStatements(config),
    ],
    FailActivationFunctionArn: [
      ...principalPolicyStatements(config, ['Delete']),
      ...homeGrantRoleStatements(config, ['Delete']),
      ...sessionEndingStatements(config),
      ...actAsAgentsStatements(config),
    ],
    MarkRevocationFailedFunctionArn: [],
  }
}

/**
 * The grant workflow: statemachines/grant.asl.json as it is (the file the local runner runs),
 * each task's function ARN a definition substitution; one function per task, each with a role
 * of its own. Standard executions, every state logged, traced with X-Ray.
 */
export class GrantWorkflow extends Construct {
  readonly stateMachine: StateMachine
  readonly tasks: Record<GrantWorkflowTask, KeylessFunction>

  constructor(scope: Construct, id: string, props: FunctionSurroundings & { config: KeylessConfig }) {
    super(scope, id)
    const stack = Stack.of(this)
    const statements = taskStatements(props.config)
    const tasks = {} as Record<GrantWorkflowTask, KeylessFunction>
    for (const [task, folder] of Object.entries(GRANT_WORKFLOW_FOLDERS) as [GrantWorkflowTask, string][]) {
      const fn = new KeylessFunction(this, task.replace(/FunctionArn$/, ''), {
        ...props,
        folder,
        description: `grant workflow task ${folder}`,
        // Revoking waits up to 1.5 s for expiry, then calls IAM and Session Manager per region.
        timeout: Duration.seconds(60),
      })
      for (const statement of statements[task]) fn.allow(statement)
      tasks[task] = fn
    }
    this.tasks = tasks

    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      path: KEYLESS_ROLE_PATH,
      description: 'keyless grant workflow: invokes its task functions',
    })
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'InvokeTasks',
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(tasks).map((task) => task.function.functionArn),
      }),
    )
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: grantWorkflowName(stack),
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(GRANT_WORKFLOW_FILE),
      definitionSubstitutions: Object.fromEntries(
        Object.entries(tasks).map(([task, fn]) => [task, fn.function.functionArn]),
      ),
      role,
      tracingEnabled: true,
      logs: {
        // The vended-logs prefix keeps CloudWatch's resource policy small (AWS's advice).
        destination: new LogGroup(this, 'Logs', {
          logGroupName: `/aws/vendedlogs/states/${grantWorkflowName(stack)}`,
          retention: RetentionDays.ONE_YEAR,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: LogLevel.ALL,
        includeExecutionData: true,
      },
    })
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery, DescribeResourcePolicies) and X-Ray tracing (PutTraceSegments, GetSamplingRules) accept no resource but *; CDK adds them for logs and tracingEnabled.',
    })
  }
}
