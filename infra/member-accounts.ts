import {
  App,
  Aws,
  BootstraplessSynthesizer,
  CfnCondition,
  CfnResource,
  Fn,
  Stack,
  Validations,
} from 'aws-cdk-lib'
import { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation'
import { CfnRule } from 'aws-cdk-lib/aws-events'
import { AnyPrincipal, CfnRole, PolicyStatement } from 'aws-cdk-lib/aws-iam'
import { AwsSolutionsChecks } from 'cdk-nag'
import { Construct } from 'constructs'
import { KEYLESS_RULE_NAMES } from '../shared/core/alerts/keyless-pieces.ts'
import { HEARTBEAT_PARAMETER } from '../shared/core/alerts/record.ts'
import { memberAccountRegions } from '../shared/core/aws/regions.ts'
import { HOME_ACCOUNT_NAME, type KeylessConfig } from '../shared/core/config/schema.ts'
import { AGENT_ROLE_NAME, agentRolePolicy, agentRoleTrust } from '../shared/core/policy/agent-role.ts'
import { AUDITOR_ROLE_NAME, auditorRolePolicy, auditorRoleTrust } from '../shared/core/policy/auditor-role.ts'
import { GRANT_ROLE_MAX_SESSION_SECONDS, GRANT_ROLE_PATH } from '../shared/core/policy/grant-role.ts'
import { WATCHED_EVENT_PATTERN_JSON } from './access-alerts.ts'
import { grantBoundary } from './grant-boundary.ts'
import { KEYLESS_ROLE_PATH } from './permissions.ts'
import { addPortForwardDocuments } from './session-documents.ts'

/**
 * keyless in the organization's member accounts: one service-managed StackSet, deployed by the
 * home stack to the configured OUs (and to accounts that join them later) in every region a
 * member account names. Its stacks are what keyless may do there and no more — the grant
 * boundary, the agent role and the auditor role (once per account, in the home region), the port-forward Session
 * documents and the access events forwarded to the home account's bus (in every region).
 */

/** Every region a member account's targets may be in. */
export function memberRegions(config: KeylessConfig): string[] {
  return [...new Set([...config.accounts.values()].flatMap((account) => account.regions))].sort()
}

/** Where the StackSet deploys (shared/core/aws/regions.ts says why each). */
export const stackSetRegions = memberAccountRegions

/** The home account's default bus in the home region: where every account's access events go. */
const homeBusArn = (config: KeylessConfig): string =>
  `arn:${config.partition}:events:${config.region}:${config.account}:event-bus/default`

/**
 * The member accounts' template, as a CDK stack of its own app: it is synthesized (and cdk-nag
 * checked) on its own, and its template becomes the StackSet's body. One template serves every
 * account and region, so the account is `AWS::AccountId` and the IAM resources, global in an
 * account, are created only in the home region.
 */
export class MemberAccountStack extends Stack {
  constructor(scope: Construct, id: string, props: { config: KeylessConfig }) {
    super(scope, id, {
      description: 'keyless: what keyless may do in a member account',
      // Member accounts are not CDK-bootstrapped, and the template has no assets: no bootstrap
      // version check, no metadata resource, nothing the StackSet's accounts must have first.
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    })
    const { config } = props
    const partition = config.partition
    const inHomeRegion = new CfnCondition(this, 'InHomeRegion', {
      expression: Fn.conditionEquals(Aws.REGION, config.region),
    })

    // The simulator-proven documents, rendered unchanged (L1): nothing adds to them on the way.
    const boundary = grantBoundary(this, 'GrantBoundary')
    boundary.cfnOptions.condition = inHomeRegion
    const agent = new CfnRole(this, 'Agent', {
      roleName: AGENT_ROLE_NAME,
      path: KEYLESS_ROLE_PATH,
      description: "keyless: the home account's keyless acts here only through this role",
      maxSessionDuration: GRANT_ROLE_MAX_SESSION_SECONDS,
      assumeRolePolicyDocument: agentRoleTrust(partition, config.account),
      policies: [
        {
          policyName: AGENT_ROLE_NAME,
          policyDocument: agentRolePolicy(partition, Aws.ACCOUNT_ID, memberRegions(config)),
        },
      ],
    })
    agent.cfnOptions.condition = inHomeRegion
    const wildcardReasons: Record<string, string> = {
      [`arn:${partition}:ssm:*:<AWS::AccountId>:parameter${HEARTBEAT_PARAMETER}`]:
        "One parameter, the reconciler's heartbeat, in every region the account is watched in.",
      '*': 'ssm:DescribeInstanceInformation, ssm:DescribeSessions and ec2:DescribeTags have no resource-level permissions; the boundary removals are a deny.',
      [`arn:${partition}:iam::<AWS::AccountId>:role${GRANT_ROLE_PATH}*`]:
        'Grant roles are role/keyless/grant/<Slack user id>, one per person, created on first use; every write needs the keyless grant boundary on the role.',
      ...Object.fromEntries(
        memberRegions(config).map((region) => [
          `arn:${partition}:ssm:${region}:<AWS::AccountId>:session/*`,
          "Session ids begin with the caller's session name, unknown in advance: terminate is scoped to sessions of this account in the configured regions.",
        ]),
      ),
    }
    for (const [resource, reason] of Object.entries(wildcardReasons)) {
      Validations.of(agent).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason })
    }
    // The scheduled audit reads the account through its own role, apart from the agent.
    const auditor = new CfnRole(this, 'Auditor', {
      roleName: AUDITOR_ROLE_NAME,
      path: KEYLESS_ROLE_PATH,
      description: "keyless: the home account's scheduled audit reads this account's IAM through this role",
      maxSessionDuration: 3600,
      assumeRolePolicyDocument: auditorRoleTrust(partition, config.account),
      policies: [
        { policyName: AUDITOR_ROLE_NAME, policyDocument: auditorRolePolicy(partition, Aws.ACCOUNT_ID) },
      ],
    })
    auditor.cfnOptions.condition = inHomeRegion
    for (const [resource, reason] of Object.entries({
      '*': 'iam:GetAccountAuthorizationDetails and ssm:DescribeInstanceInformation have no resource-level permissions: the audit reads, and changes nothing.',
      [`arn:${partition}:iam::<AWS::AccountId>:role/*`]:
        "iam:SimulatePrincipalPolicy on the account's roles: the audit asks about whichever may reach a target.",
      [`arn:${partition}:iam::<AWS::AccountId>:user/*`]:
        "iam:SimulatePrincipalPolicy on the account's users: the audit asks about whichever may reach a target.",
    })) {
      Validations.of(auditor).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason })
    }

    const memberTargets = [...config.targets.values()].filter(
      (target) => target.account.name !== HOME_ACCOUNT_NAME,
    )
    addPortForwardDocuments(new Construct(this, 'PortForwardDocuments'), memberTargets)
    new ForwardToHomeBus(this, 'ForwardAccessEvents', { config })
  }
}

/**
 * The access events of a member account's region, put on the home account's default bus (which
 * admits the organization, see `OrganizationEventsPolicy`): the rule's role may put events there
 * and nowhere else. EventBridge retries a failed delivery for two hours.
 */
class ForwardToHomeBus extends Construct {
  constructor(scope: Construct, id: string, props: { config: KeylessConfig }) {
    super(scope, id)
    const { config } = props
    const homeBus = homeBusArn(config)
    const role = new CfnRole(this, 'Role', {
      path: KEYLESS_ROLE_PATH,
      description: `keyless: forwards access events to ${config.account} ${config.region}`,
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      policies: [
        {
          policyName: 'forward-access-events',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus }],
          },
        },
      ],
    })
    new CfnRule(this, 'Rule', {
      name: KEYLESS_RULE_NAMES.watched,
      description: `keyless: CloudTrail's watched events, forwarded to the home account's bus`,
      eventPattern: WATCHED_EVENT_PATTERN_JSON,
      targets: [
        {
          id: 'HomeBus',
          arn: homeBus,
          roleArn: role.attrArn,
          retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 7200 },
        },
      ],
    })
  }
}

/**
 * In the home stack: the member-account StackSet (when the config names an organization), and
 * the home bus's permission for the organization's accounts to put events on it.
 */
export class MemberAccounts extends Construct {
  readonly stackSet: CfnStackSet
  readonly template: Record<string, unknown>

  constructor(
    scope: Construct,
    id: string,
    props: {
      config: KeylessConfig
      organization: { id: string; deployTo: string[] }
      /** The member accounts' template (`synthesizeMemberTemplate`). */
      template: Record<string, unknown>
    },
  ) {
    super(scope, id)
    const { config, organization } = props
    this.template = props.template
    this.stackSet = new CfnStackSet(this, 'StackSet', {
      stackSetName: 'keyless-member-accounts',
      description: 'keyless: the agent role, grant boundary, Session documents and event forwarding',
      permissionModel: 'SERVICE_MANAGED',
      // keyless's home is a member account registered as a StackSets delegated administrator,
      // not the management account (README "Several accounts").
      callAs: 'DELEGATED_ADMIN',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        maxConcurrentPercentage: 100,
        failureToleranceCount: 0,
      },
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: organization.deployTo },
          regions: stackSetRegions(config),
        },
      ],
      templateBody: JSON.stringify(this.template),
    })
    // A plain resource: the L2 EventBusPolicy hands its PolicyStatement object to the resolver
    // as it is (a circular AnyPrincipal), and the L1 warns of its deprecated `principal` at every
    // synth, set or not.
    new CfnResource(this, 'OrganizationEventsPolicy', {
      type: 'AWS::Events::EventBusPolicy',
      properties: {
        StatementId: 'keyless-organization-access-events',
        Statement: new PolicyStatement({
          principals: [new AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [homeBusArn(config)],
          conditions: { StringEquals: { 'aws:PrincipalOrgID': organization.id } },
        }).toStatementJson(),
      },
    })
  }
}

/**
 * Synthesizes the member accounts' template in an app of its own, with cdk-nag's checks like
 * every stack; `outdir` is beside the home app's assembly, so a synth leaves nothing elsewhere.
 */
export function synthesizeMemberTemplate(
  config: KeylessConfig,
  options: { outdir: string; cloudFormationValidation: boolean },
): Record<string, unknown> {
  const app = new App({
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cloudFormationValidation,
  })
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  const stack = new MemberAccountStack(app, 'KeylessMember', { config })
  return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>
}
