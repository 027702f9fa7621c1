// biome-ignore-all lint/suspicious/noExplicitAny: a synthesized template is untyped JSON, read field by field
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Match, Template } from 'aws-cdk-lib/assertions'
import { AwsSolutionsChecks } from 'cdk-nag'
import { afterAll, describe, expect, it } from 'vitest'
import { GRANT_WORKFLOW_FOLDERS } from '../../functions/grant-workflow-folders.ts'
import { WATCHED_EVENT_PATTERN_JSON } from '../../infra/access-alerts.ts'
import { readDeployOptions } from '../../infra/deploy-options.ts'
import { GRANT_WORKFLOW_FILE } from '../../infra/grant-workflow.ts'
import { keylessApp } from '../../infra/keyless-app.ts'
import { INDEXES, TABLE_KEY } from '../../shared/adapters/dynamodb/keys.ts'
import { grantTableDefinition } from '../../shared/adapters/dynamodb/table.ts'
import { EXAMPLE_CONFIG_FILE } from '../../shared/core/config/load.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { agentRolePolicy, agentRoleTrust } from '../../shared/core/policy/agent-role.ts'
import { auditorRolePolicy, auditorRoleTrust } from '../../shared/core/policy/auditor-role.ts'
import { grantBoundaryPolicy } from '../../shared/core/policy/grant-role.ts'
import { envelope, FIXTURES } from '../kit/cloudtrail.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'
import { matchesPattern } from '../kit/event-pattern.ts'
import { simulate } from '../kit/iam.ts'

/**
 * The CDK app synthesized offline (no credentials, no network, cdk-nag's AwsSolutions checks
 * running as in `cdk synth`), once, and asserted on its templates. esbuild is skipped here;
 * `npm run bench` synthesizes with bundling and measures every bundle.
 */

const ALICE = 'arn:aws:iam::111122223333:role/alice-ops'
const CAROL = 'arn:aws:iam::111122223333:user/carol'
const configObject = specConfigObject()
configObject.people.U0CAROL = { principal: CAROL }
// An organization with one member account and a target there: the member-account StackSet.
configObject.organization = { id: 'o-a1b2c3d4e5', deployTo: ['ou-ab12-prodxxxx'] }
configObject.accounts = { prod: { id: '444455556666', regions: ['eu-west-1', 'eu-central-1'] } }
configObject.targets.batch = {
  account: 'prod',
  access: ['port-forward'],
  ports: [8080],
  approvers: ['U0MANAGER1'],
}
// An Identity Center person: their home grants go on a grant role in the home account.
configObject.identityCenter = { permissionSet: 'KeylessAccess' }
configObject.people.U0DAN = { identityCenterUser: 'dan@example.com' }
const config = configFrom(configObject)
const outdir = mkdtempSync(join(tmpdir(), 'keyless-synth-'))
afterAll(() => rmSync(outdir, { recursive: true, force: true }))

// Every deploy option on, so one synth (the slow part) covers them all; each is additive.
const deployOptions = readDeployOptions(
  (key) =>
    ({
      'keyless:alarmEmail': 'platform@example.com',
      'keyless:permissionsBoundary': 'arn:aws:iam::111122223333:policy/org-boundary',
      'keyless:createTrail': 'true',
    })[key],
)
/** Synthesizes once; a synth that throws stops the file before afterAll could remove its folder. */
function synthesize() {
  try {
    const built = keylessApp(config, {
      configFile: EXAMPLE_CONFIG_FILE,
      outdir,
      skipBundling: true,
      // CDK's own CloudFormation validation runs in the bench's synth (bench/deploy.ts), not here.
      cloudFormationValidation: false,
      deploy: deployOptions,
    })
    return { ...built, assembly: built.app.synth() }
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true })
    throw error
  }
}
const { app, home, satellites, assembly } = synthesize()
const template = Template.fromStack(home)
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type)
/** The one resource of `type`, by logical id. */
function onlyOfType(type: string): [string, { Type: string; Properties: any }] {
  const [found, ...more] = ofType(type)
  if (!found || more.length) throw new Error(`expected one ${type}, found ${ofType(type).length}`)
  return found
}

/** The logical id of the function deployed from functions/<folder>/. */
function functionOf(folder: string): string {
  const found = ofType('AWS::Lambda::Function').filter(([, fn]) =>
    roleDescription(fn).startsWith(`keyless ${folder}:`),
  )
  expect(found, folder).toHaveLength(1)
  return found[0]?.[0] ?? ''
}
const roleDescription = (fn: { Properties: any }) =>
  resources[fn.Properties.Role['Fn::GetAtt'][0]]?.Properties.Description ?? ''

/** The statements of a function's own role, as synthesized. */
function statementsOf(folder: string): any[] {
  const roleId = resources[functionOf(folder)]?.Properties.Role['Fn::GetAtt'][0]
  return ofType('AWS::IAM::Policy')
    .filter(([, policy]) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
}

/** The statements whose resources are all literal ARNs: what the IAM simulator can run. */
const literalPolicy = (folder: string) => ({
  Version: '2012-10-17' as const,
  Statement: statementsOf(folder).filter((statement) =>
    [statement.Resource].flat().every((resource: unknown) => typeof resource === 'string'),
  ),
})

describe('the home-region stack', () => {
  it('is in the configured account and home region; one satellite per other region', () => {
    expect(home.account).toBe('111122223333')
    expect(home.region).toBe('eu-west-1')
    expect(satellites.map((stack) => stack.region)).toEqual(['us-east-1'])
  })

  it('watches us-east-1, where IAM is recorded, even when no target is there: a satellite that only forwards', () => {
    const homeOnly = specConfigObject()
    homeOnly.regions = ['eu-west-1']
    const dir = mkdtempSync(join(tmpdir(), 'keyless-synth-home-only-'))
    try {
      const built = keylessApp(configFrom(homeOnly), {
        configFile: EXAMPLE_CONFIG_FILE,
        outdir: dir,
        skipBundling: true,
        cloudFormationValidation: false,
        deploy: deployOptions,
      })
      expect(built.satellites.map((stack) => stack.region)).toEqual(['us-east-1'])
      const forwarder = Template.fromStack(built.satellites[0] as never)
      forwarder.resourceCountIs('AWS::SSM::Document', 0)
      forwarder.resourceCountIs('AWS::Lambda::Function', 0)
      forwarder.hasResourceProperties('AWS::Events::Rule', {
        Name: 'keyless-watched-events',
        EventPattern: WATCHED_EVENT_PATTERN_JSON,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('synthesizes with cdk-nag AwsSolutions clean: every finding acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(app)
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([])
    const acknowledged = app.node
      .findAll()
      .flatMap((node) => node.node.metadata)
      .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
    expect(acknowledged.length).toBeGreaterThan(0)
  })

  it('the grant table: on demand, recoverable, protected, encrypted, retained, no TTL', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1)
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      },
    })
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'))
    expect(table?.Properties.TimeToLiveSpecification).toBeUndefined()
  })

  it('the grant table has exactly the keys and indexes the code uses (the local table’s definition)', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'))
    const local = grantTableDefinition('local')
    const byName = (list: { AttributeName: string }[]) =>
      [...list].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))
    expect(byName(table?.Properties.AttributeDefinitions)).toEqual(
      byName(local.AttributeDefinitions as never),
    )
    expect(table?.Properties.KeySchema).toEqual(local.KeySchema)
    expect(
      table?.Properties.GlobalSecondaryIndexes.map((index: { IndexName: string }) => index.IndexName).sort(),
    ).toEqual(Object.keys(INDEXES).sort())
    for (const index of table?.Properties.GlobalSecondaryIndexes ?? []) {
      expect(index).toEqual(local.GlobalSecondaryIndexes?.find((want) => want.IndexName === index.IndexName))
    }
    expect(TABLE_KEY.partitionKey).toBe('pk')
  })
})

describe('the functions', () => {
  const functions = ofType('AWS::Lambda::Function').filter(([, fn]) =>
    roleDescription(fn).startsWith('keyless '),
  )

  it('one per workflow task, plus Slack, alerts, the reconciler and the audit: Node 22 on arm64, ESM, JSON logs', () => {
    expect(functions).toHaveLength(Object.keys(GRANT_WORKFLOW_FOLDERS).length + 4)
    for (const folder of [
      ...Object.values(GRANT_WORKFLOW_FOLDERS),
      'slack',
      'alerts',
      'reconciler',
      'audit',
    ]) {
      functionOf(folder)
    }
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON' },
      })
    }
  })

  it('the environment is what aws-deps.ts reads, and holds no secret (the Slack secret by ARN only)', () => {
    const [secretId, secret] = onlyOfType('AWS::SecretsManager::Secret')
    expect(secret.Properties.SecretString).toBeUndefined()
    for (const [, fn] of functions) {
      const variables = fn.Properties.Environment.Variables
      expect(Object.keys(variables).sort()).toEqual([
        'KEYLESS_CONFIG',
        'SLACK_SECRET_ARN',
        'STATE_MACHINE_ARN',
        'TABLE_NAME',
      ])
      expect(variables.SLACK_SECRET_ARN).toEqual({ Ref: secretId })
      expect(variables.KEYLESS_CONFIG).toBe('/var/task/keyless.config.yaml')
      expect(JSON.stringify(variables)).not.toMatch(/xox[bp]-|signing/i)
    }
    // Nothing anywhere in the template looks like a Slack token (xoxb-1234…).
    expect(JSON.stringify(template.toJSON())).not.toMatch(/xox[bpa]-\d/)
  })

  it('every role keyless creates is its own, under /keyless/, with no managed policy', () => {
    const roles = ofType('AWS::IAM::Role')
    expect(roles.length).toBeGreaterThanOrEqual(functions.length + 2)
    for (const [id, role] of roles) {
      expect(role.Properties.Path, id).toBe('/keyless/')
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined()
    }
    const roleIds = functions.map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0])
    expect(new Set(roleIds).size).toBe(functions.length)
  })

  it('only the functions that attach or remove grants may touch IAM, and each only as it needs', () => {
    const iamActions = (folder: string) =>
      statementsOf(folder)
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => [statement.Action].flat())
        .filter((action: string) => action.startsWith('iam:'))
        .sort()
    // With an Identity Center person (U0DAN), the home grant roles' statements come too (bounded:
    // see "writes the home account's grant roles only with the grant boundary").
    const putting = [
      'iam:CreateRole',
      'iam:GetRole',
      'iam:PutRolePolicy',
      'iam:PutRolePolicy',
      'iam:PutUserPolicy',
      'iam:TagRole',
      'iam:UpdateAssumeRolePolicy',
    ]
    expect(iamActions('attach-access')).toEqual(putting)
    // It names the target's instances in the "active" message; it ends no session.
    expect(statementsOf('attach-access').filter((statement) => statement.Sid === 'FindInstances')).toEqual([
      { Sid: 'FindInstances', Effect: 'Allow', Action: 'ssm:DescribeInstanceInformation', Resource: '*' },
    ])
    expect(JSON.stringify(statementsOf('attach-access'))).not.toContain('ssm:TerminateSession')
    expect(iamActions('extend-access')).toEqual(putting)
    const removing = ['iam:DeleteRolePolicy', 'iam:DeleteRolePolicy', 'iam:DeleteUserPolicy']
    expect(iamActions('revoke-access')).toEqual(removing)
    expect(iamActions('fail-activation')).toEqual(removing)
    expect(iamActions('reconciler')).toEqual([
      'iam:DeleteRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:DeleteUserPolicy',
      'iam:ListRolePolicies',
      'iam:ListRolePolicies',
      'iam:ListUserPolicies',
    ])
    for (const folder of ['slack', 'alerts', 'ask-for-approval', 'wait-for-end', 'mark-revocation-failed']) {
      expect(iamActions(folder), folder).toEqual([])
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"iam:\*"|"iam:Put\*"/)
  })

  it('the reconciler, in the IAM simulator, may write the heartbeat parameter and no other, and read none', async () => {
    const reconciler = literalPolicy('reconciler')
    const parameter = (name: string) => `arn:aws:ssm:eu-west-1:111122223333:parameter${name}`
    const ssm = (action: string, name: string) => simulate(reconciler, { action, resource: parameter(name) })
    expect(await ssm('ssm:PutParameter', '/keyless/heartbeat')).toBe('Allowed')
    expect(await ssm('ssm:PutParameter', '/team/db-password')).toBe('ImplicitlyDenied')
    expect(await ssm('ssm:PutParameter', '/keyless/heartbeat-2')).toBe('ImplicitlyDenied')
    expect(await ssm('ssm:GetParameter', '/keyless/heartbeat')).toBe('ImplicitlyDenied')
    expect(await ssm('ssm:DeleteParameter', '/keyless/heartbeat')).toBe('ImplicitlyDenied')
    // The alert function gained nothing for the new rules or the heartbeat: the same actions as before.
    const actions = [
      ...new Set(statementsOf('alerts').flatMap((statement) => [statement.Action].flat())),
    ].sort()
    expect(actions).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'ec2:DescribeTags',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
      'sts:AssumeRole',
    ])
  })

  it('the granting roles, in the IAM simulator: allowed on a configured principal, denied elsewhere and on keyless itself', async () => {
    const attach = literalPolicy('attach-access')
    const put = (resource: string, action = 'iam:PutRolePolicy') => simulate(attach, { action, resource })
    expect(await put(ALICE)).toBe('Allowed')
    expect(await put(CAROL, 'iam:PutUserPolicy')).toBe('Allowed')
    expect(await put('arn:aws:iam::111122223333:role/mallory-ops')).toBe('ImplicitlyDenied')
    expect(await put('arn:aws:iam::111122223333:user/mallory', 'iam:PutUserPolicy')).toBe('ImplicitlyDenied')
    expect(await put('arn:aws:iam::444455556666:role/alice-ops')).toBe('ImplicitlyDenied')
    expect(await put('arn:aws:iam::111122223333:role/keyless/Keyless-AttachAccessRole')).toBe(
      'ExplicitlyDenied',
    )
    expect(await put(ALICE, 'iam:DeleteRolePolicy')).toBe('ImplicitlyDenied')
    expect(await put(ALICE, 'iam:AttachRolePolicy')).toBe('ImplicitlyDenied')

    // Even were the allow widened to every role, keyless's own would stay out of reach.
    const widened = {
      ...attach,
      Statement: [...attach.Statement, { Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
    }
    for (const action of ['iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy']) {
      expect(
        await simulate(widened as never, {
          action,
          resource: 'arn:aws:iam::111122223333:role/keyless/Keyless-SlackHandlerRole',
        }),
        action,
      ).toBe('ExplicitlyDenied')
    }

    const revoke = literalPolicy('revoke-access')
    expect(await simulate(revoke, { action: 'iam:DeleteRolePolicy', resource: ALICE })).toBe('Allowed')
    expect(await simulate(revoke, { action: 'iam:PutRolePolicy', resource: ALICE })).toBe('ImplicitlyDenied')
    expect(
      await simulate(revoke, {
        action: 'ssm:TerminateSession',
        resource: 'arn:aws:ssm:us-east-1:111122223333:session/alice-0123456789abcdef0',
      }),
    ).toBe('Allowed')
    expect(
      await simulate(revoke, {
        action: 'ssm:TerminateSession',
        resource: 'arn:aws:ssm:ap-south-1:111122223333:session/alice-0123456789abcdef0',
      }),
    ).toBe('ImplicitlyDenied')
  })

  it('a config naming one of keyless’s own roles is refused, and synth refuses it even past validation', () => {
    const poisoned = specConfigObject()
    const ownRole = 'arn:aws:iam::111122223333:role/keyless/Keyless-RevokeRole'
    poisoned.people.U0MALLORY = { principal: ownRole }
    expect(() => configFrom(poisoned)).toThrow('is under /keyless/')
    // A config assembled in code, not validated: the stack still will not grant on keyless's roles.
    const valid = specConfig()
    const config = {
      ...valid,
      people: new Map([...valid.people, ['U0MALLORY', { slackUserId: 'U0MALLORY', principal: ownRole }]]),
    }
    const synth = () => keylessApp(config, { configFile: EXAMPLE_CONFIG_FILE, skipBundling: true })
    expect(synth).toThrow(KeylessError)
    expect(synth).toThrow(
      `people.U0MALLORY.principal: ${ownRole} is under /keyless/, where keyless's own roles live; grants never attach there`,
    )
  })
})

describe('the grant workflow', () => {
  const [, machine] = onlyOfType('AWS::StepFunctions::StateMachine')

  it('is statemachines/grant.asl.json itself, each task substituted with its own function', async () => {
    const fileText = await readFile(GRANT_WORKFLOW_FILE, 'utf8')
    // fromFile uploads the file as an asset: the staged copy is the file, byte for byte.
    const assetKey = machine.Properties.DefinitionS3Location.Key as string
    const staged = readFileSync(
      join(assembly.directory, `asset.${assetKey.replace(/\.json$/, '')}.json`),
      'utf8',
    )
    expect(staged).toBe(fileText)

    const placeholders = new Set([...fileText.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]))
    const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>
    expect(new Set(Object.keys(substitutions))).toEqual(placeholders)
    for (const [task, folder] of Object.entries(GRANT_WORKFLOW_FOLDERS)) {
      expect(substitutions[task], task).toEqual({ 'Fn::GetAtt': [functionOf(folder), 'Arn'] })
    }
    // After substitution, the definition is whole JSON naming only keyless's task functions.
    const substituted = fileText.replaceAll(/\$\{(\w+)\}/g, (_, name: string) => `function:${name}`)
    expect(substituted).not.toContain('${')
    const definition = JSON.parse(substituted)
    const named = Object.values(definition.States as Record<string, any>)
      .map((state) => state.Parameters?.FunctionName)
      .filter(Boolean)
    expect(new Set(named)).toEqual(new Set([...placeholders].map((name) => `function:${name}`)))
  })

  it('is Standard, named as the functions’ STATE_MACHINE_ARN names it, logs every state, traced', () => {
    expect(machine.Properties).toMatchObject({
      StateMachineName: 'Keyless-grant-workflow',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
    })
    const [, fn] = ofType('AWS::Lambda::Function')[0] ?? []
    expect(JSON.stringify(fn?.Properties.Environment.Variables.STATE_MACHINE_ARN)).toContain(
      ':stateMachine:Keyless-grant-workflow',
    )
  })
})

describe('the Slack endpoint', () => {
  it('an HTTP API answering only POST /slack/events, throttled, access-logged', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1)
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /slack/events' })
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    })
    template.hasOutput('SlackRequestUrl', {
      Value: { 'Fn::Join': ['', [Match.anyValue(), '/slack/events']] },
    })
  })

  it('the Slack function may start the workflow, answer its waits and invoke itself, nothing more', () => {
    const actions = statementsOf('slack').flatMap((statement) => [statement.Action].flat())
    expect(actions.sort()).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sqs:SendMessage',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
        'states:StartExecution',
      ].sort(),
    )
    const invoke = statementsOf('slack').find((statement) => statement.Action === 'lambda:InvokeFunction')
    expect(JSON.stringify(invoke.Resource)).toContain(':function:Keyless-slack')
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'Keyless-slack' })
  })
})

describe('the alert rule', () => {
  const rules = ofType('AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventPattern)
  const pattern = rules[0]?.[1].Properties.EventPattern
  const envelopeOf = async (name: string) => {
    const raw = JSON.parse(await readFile(new URL(name, FIXTURES), 'utf8'))
    return raw['detail-type'] ? raw : envelope(raw)
  }

  it('targets the alert function, with retries and a dead-letter queue', () => {
    expect(rules).toHaveLength(1)
    const [target] = rules[0]?.[1].Properties.Targets ?? []
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [functionOf('alerts'), 'Arn'] })
    expect(target.DeadLetterConfig).toBeDefined()
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 })
  })

  it("is the one pattern for every watched event, under keyless's rule name, within EventBridge's size", () => {
    expect(pattern).toEqual(WATCHED_EVENT_PATTERN_JSON)
    // EventBridge's default quota for a pattern is 2,048 characters. A record whose eventSource
    // does not belong to its envelope's source is the alert function's to drop (alert-service.test.ts).
    expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(2048)
    expect(rules[0]?.[1].Properties.Name).toBe('keyless-watched-events')
  })

  it('matches the EventBridge envelopes of every watched fixture, and nothing else', async () => {
    for (const name of [
      'start-session-mfa.eventbridge.json',
      'start-session-port-forward-no-mfa.json',
      'start-session-denied.json',
      'start-session-identity-center.json',
      'send-ssh-public-key-iam-user.json',
      'send-command.json',
      'send-command-by-tag.json',
      'open-tunnel.json',
      'gui-start-connection.json',
      'enable-serial-console-access.json',
      'stop-logging.json',
      'put-event-selectors.json',
      'disable-rule.json',
      'update-document-preferences.json',
      'put-role-policy-grant-role.json',
      'put-parameter-heartbeat.json',
    ]) {
      expect(matchesPattern(pattern, await envelopeOf(name)), name).toBe(true)
    }
    expect(matchesPattern(pattern, await envelopeOf('terminate-session.json'))).toBe(false)
    const mfa = await envelopeOf('start-session-mfa.eventbridge.json')
    for (const name of ['ResumeSession', 'SendSerialConsoleSSHPublicKey']) {
      const detail = {
        ...mfa.detail,
        eventName: name,
        eventSource: name.startsWith('Send') ? 'ec2-instance-connect.amazonaws.com' : 'ssm.amazonaws.com',
      }
      const source = name.startsWith('Send') ? 'aws.ec2-instance-connect' : 'aws.ssm'
      expect(matchesPattern(pattern, { ...mfa, source, detail }), name).toBe(true)
    }
    const withDetail = async (name: string, change: Record<string, unknown>) => {
      const event = await envelopeOf(name)
      return { ...event, detail: { ...event.detail, ...change } }
    }
    const params = async (name: string, requestParameters: Record<string, unknown>) =>
      withDetail(name, { requestParameters })
    const others = [
      { ...mfa, 'detail-type': 'AWS Service Event via CloudTrail' },
      // A source that does not own the record's eventSource.
      { ...mfa, source: 'aws.ec2' },
      { ...mfa, source: 'custom.attacker' },
      { ...mfa, detail: { ...mfa.detail, eventName: 'DescribeSessions' } },
      { ...mfa, detail: undefined },
      // Everyone else's rules, documents and parameters.
      await params('disable-rule.json', { name: 'team-nightly-build' }),
      await params('update-document-preferences.json', { name: 'team-runbook' }),
      await params('put-parameter-heartbeat.json', { name: '/team/db-password' }),
      await withDetail('stop-logging.json', { eventName: 'StartLogging' }),
      await withDetail('enable-serial-console-access.json', { eventName: 'RunInstances' }),
      await withDetail('put-role-policy-grant-role.json', { eventName: 'ListRoles' }),
    ]
    for (const event of others)
      expect(matchesPattern(pattern, event), JSON.stringify(event).slice(0, 120)).toBe(false)
  })

  it('the satellite forwards the same events to the home region’s default bus', () => {
    const satellite = Template.fromStack(satellites[0] as never)
    const [forward] = Object.values(satellite.findResources('AWS::Events::Rule')) as { Properties: any }[]
    expect(forward?.Properties.EventPattern).toEqual(pattern)
    expect(JSON.stringify(forward?.Properties.Targets[0].Arn)).toContain(':events:eu-west-1:')
    expect(JSON.stringify(forward?.Properties.Targets[0].Arn)).toContain('event-bus/default')
    expect(forward?.Properties.Targets[0].DeadLetterConfig).toBeDefined()
  })
})

describe('Session documents, schedule and alarms', () => {
  it('a port-forward document per target and port in every configured region, the port fixed in it', () => {
    for (const stack of [template, Template.fromStack(satellites[0] as never)]) {
      stack.hasResourceProperties('AWS::SSM::Document', {
        Name: 'keyless-prod-db-port-5432',
        DocumentType: 'Session',
        Content: Match.objectLike({
          sessionType: 'Port',
          properties: Match.objectLike({ portNumber: '5432', type: 'LocalPortForwarding' }),
        }),
      })
      const documents = stack.findResources('AWS::SSM::Document')
      expect(Object.keys(documents)).toHaveLength(1)
      const [document] = Object.values(documents) as { Properties: any }[]
      expect(Object.keys(document?.Properties.Content.parameters)).toEqual(['localPortNumber'])
    }
  })

  it('the account’s shell preferences document is created only where absent, and never deleted', () => {
    for (const stack of [template, Template.fromStack(satellites[0] as never)]) {
      const [shell] = Object.values(stack.findResources('Custom::AWS')) as { Properties: any }[]
      // Create is JSON in a string, with tokens joined in: read as text.
      const text = JSON.stringify(shell?.Properties.Create)
      expect(text).toContain('createDocument')
      expect(text).toContain('SSM-SessionManagerRunShell')
      expect(text).toContain('DocumentAlreadyExists')
      expect(shell?.Properties.Update).toBeUndefined()
      expect(shell?.Properties.Delete).toBeUndefined()
    }
  })

  it('the reconciler may find a lost execution and start the next attempt, of the grant workflow only', () => {
    const workflowStatements = statementsOf('reconciler').filter((statement) =>
      [statement.Action].flat().some((action: string) => action.startsWith('states:')),
    )
    expect(
      workflowStatements.map((statement) => [statement.Action, JSON.stringify(statement.Resource)]),
    ).toEqual([
      ['states:DescribeExecution', expect.stringContaining(':execution:Keyless-grant-workflow:*')],
      ['states:StartExecution', expect.stringContaining(':stateMachine:Keyless-grant-workflow')],
    ])
  })

  it('the reconciler runs every five minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionOf('reconciler'), 'Arn'] } })],
    })
  })

  it('alarms on failed workflows, REVOKE_FAILED, repairs, failed invocations, function failures, Slack 5xx and a silent alert path, on 9 billed metrics', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm')
    expect(alarms).toHaveLength(7)
    // CloudWatch bills each metric an alarm watches: a metric math alarm, each metric in it.
    const billed = alarms.reduce(
      (sum, [, alarm]) =>
        sum +
        (alarm.Properties.Metrics?.filter((metric: { MetricStat?: unknown }) => metric.MetricStat).length ??
          1),
      0,
    )
    expect(billed).toBe(9)
    const descriptions = alarms.map(([, alarm]) => alarm.Properties.AlarmDescription as string)
    for (const phrase of [
      'workflow execution failed',
      'REVOKE_FAILED',
      'reconciler repaired',
      'failure queue',
      'a function failed',
      'server error',
      'no heartbeat',
    ]) {
      expect(
        descriptions.some((description) => description.includes(phrase)),
        phrase,
      ).toBe(true)
    }
    // The reconciler publishes its repairs itself (Powertools' embedded metrics): no filter reads its log for them.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'keyless',
      MetricName: 'ReconcilerRepairs',
      Dimensions: [{ Name: 'service', Value: 'keyless' }],
    })
    // The alert path: breaching when heartbeats stop coming, for six five-minute periods.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'HeartbeatsSeen',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 6,
      Period: 300,
      TreatMissingData: 'breaching',
    })
    const reconcilerPolicy = statementsOf('reconciler').find((statement) => statement.Sid === 'SendHeartbeat')
    expect(reconcilerPolicy?.Action).toBe('ssm:PutParameter')
    expect(JSON.stringify(reconcilerPolicy?.Resource)).toContain(':parameter/keyless/heartbeat')
    // Every function's failures count into one metric, published only when one fails.
    const failureFilters = ofType('AWS::Logs::MetricFilter').filter(([, filter]) =>
      filter.Properties.MetricTransformations.some(
        (metric: { MetricName: string }) => metric.MetricName === 'FunctionErrors',
      ),
    )
    const functions = ofType('AWS::Lambda::Function').filter(([, fn]) => fn.Properties.Environment)
    expect(failureFilters).toHaveLength(functions.length)
    for (const [, filter] of failureFilters) {
      expect(filter.Properties.FilterPattern).toBe(
        '{ ($.level = "ERROR") || ($.record.status = "error") || ($.record.status = "timeout") || ($.record.status = "failure") }',
      )
      expect(filter.Properties.MetricTransformations).toEqual([
        { MetricNamespace: 'keyless', MetricName: 'FunctionErrors', MetricValue: '1' },
      ])
    }
    const loggedBy = new Set(
      failureFilters.map(([, filter]) => JSON.stringify(filter.Properties.LogGroupName)),
    )
    expect(loggedBy.size).toBe(functions.length)
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Namespace: 'AWS/ApiGateway',
    })
  })

  it('outputs the Slack request URL, the secret, the table, the state machine and the alert rule', () => {
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'AlertRuleName',
      'GrantTableName',
      'SlackRequestUrl',
      'SlackSecretArn',
      'StateMachineArn',
    ])
  })
})

describe('the member accounts (a service-managed StackSet)', () => {
  const MEMBER = '444455556666'
  const [, stackSet] = onlyOfType('AWS::CloudFormation::StackSet')
  const body = JSON.parse(stackSet.Properties.TemplateBody)
  const member = body.Resources as Record<string, { Type: string; Condition?: string; Properties: any }>
  const memberOfType = (type: string) => Object.values(member).filter((resource) => resource.Type === type)
  /** A value of the template as CloudFormation resolves it in the member account. */
  const inMember = (value: unknown): any => {
    if (Array.isArray(value)) return value.map(inMember)
    if (typeof value !== 'object' || value === null) return value
    const node = value as Record<string, any>
    if (node.Ref === 'AWS::AccountId') return MEMBER
    if (node['Fn::Join']) return (node['Fn::Join'][1] as unknown[]).map(inMember).join(node['Fn::Join'][0])
    return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, inMember(inner)]))
  }

  it('needs nothing in a member account first: no parameters, no bootstrap check, no assets', () => {
    expect(body.Parameters).toBeUndefined()
    expect(body.Rules).toBeUndefined()
    expect(stackSet.Properties.TemplateBody).not.toMatch(/cdk-bootstrap|cdk-hnb659fds|AWS::CDK::Metadata/)
  })

  it('goes to the configured OUs, and to accounts joining them, in every member region, the home region and us-east-1 (where IAM is recorded)', () => {
    expect(stackSet.Properties).toMatchObject({
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackInstancesGroup: [
        {
          DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-prodxxxx'] },
          Regions: ['eu-central-1', 'eu-west-1', 'us-east-1'],
        },
      ],
    })
  })

  it('carries the simulator-proven boundary and agent documents unchanged, once per account (home region)', () => {
    const [boundary] = memberOfType('AWS::IAM::ManagedPolicy')
    expect(boundary?.Properties).toMatchObject({
      ManagedPolicyName: 'keyless-grant-boundary',
      Path: '/keyless/',
    })
    expect(boundary?.Properties.PolicyDocument).toEqual(grantBoundaryPolicy())
    const agent = memberOfType('AWS::IAM::Role').find((role) => role.Properties.RoleName === 'keyless-agent')
    expect(agent?.Properties.Path).toBe('/keyless/')
    expect(agent?.Properties.AssumeRolePolicyDocument).toEqual(agentRoleTrust('aws', '111122223333'))
    expect(inMember(agent?.Properties.Policies)).toEqual([
      {
        PolicyName: 'keyless-agent',
        PolicyDocument: agentRolePolicy('aws', MEMBER, ['eu-central-1', 'eu-west-1']),
      },
    ])
    // IAM is global in an account: created by the home region's stack instance only.
    for (const global of [boundary, agent]) expect(global?.Condition).toBe('InHomeRegion')
    expect(body.Conditions.InHomeRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] })
  })

  it("forwards the member's watched events to the home account's bus, which admits only the organization", async () => {
    const homeBus = 'arn:aws:events:eu-west-1:111122223333:event-bus/default'
    const [rule] = memberOfType('AWS::Events::Rule')
    expect(rule?.Properties.EventPattern).toEqual(WATCHED_EVENT_PATTERN_JSON)
    expect(rule?.Properties.Name).toBe('keyless-watched-events')
    expect(rule?.Properties.Targets).toMatchObject([{ Arn: homeBus }])
    const forwarder = memberOfType('AWS::IAM::Role').find((role) => role.Properties.RoleName === undefined)
    expect(forwarder?.Properties.Policies[0].PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus },
    ])
    const [, busPolicy] = onlyOfType('AWS::Events::EventBusPolicy')
    const putEvents = (org: string) =>
      simulate(
        [
          {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus }],
          },
        ],
        { action: 'events:PutEvents', resource: homeBus, context: { 'aws:PrincipalOrgID': org } },
        `arn:aws:sts::${MEMBER}:assumed-role/forwarder/events`,
        { resourcePolicy: { Version: '2012-10-17', Statement: [busPolicy.Properties.Statement] } },
      )
    expect(await putEvents('o-a1b2c3d4e5')).toBe('Allowed')
    expect(await putEvents('o-otherorg00')).toBe('ImplicitlyDenied')
  })

  it('lets only the scheduled audit read a member account, through the auditor role, which writes nothing', async () => {
    const auditor = memberOfType('AWS::IAM::Role').find(
      (role) => role.Properties.RoleName === 'keyless-auditor',
    )
    expect(auditor?.Condition).toBe('InHomeRegion')
    expect(auditor?.Properties.AssumeRolePolicyDocument).toEqual(auditorRoleTrust('aws', '111122223333'))
    expect(inMember(auditor?.Properties.Policies)).toEqual([
      { PolicyName: 'keyless-auditor', PolicyDocument: auditorRolePolicy('aws', MEMBER) },
    ])
    // The home audit function's role is named Keyless-AuditHandlerRole…, which the trust admits.
    const auditRole = resources[functionOf('audit')]?.Properties.Role['Fn::GetAtt'][0] as string
    expect(auditRole).toMatch(/^AuditHandlerRole/)
    const assumes = (principal: string) =>
      simulate(
        [
          {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
          },
        ],
        {
          action: 'sts:AssumeRole',
          resource: `arn:aws:iam::${MEMBER}:role/keyless/keyless-auditor`,
          context: { 'aws:PrincipalArn': principal },
        },
        principal,
        { resourcePolicy: auditorRoleTrust('aws', '111122223333') },
      )
    expect(
      await assumes('arn:aws:iam::111122223333:role/keyless/Keyless-AuditHandlerRole1A2B3C4D-Ab12Cd34'),
    ).toBe('Allowed')
    expect(
      await assumes('arn:aws:iam::111122223333:role/keyless/Keyless-ReconcilerHandlerRole5E6F-Ef56'),
    ).toBe('ImplicitlyDenied')
    expect(await assumes('arn:aws:iam::111122223333:role/keyless/grant/U0CAROL')).toBe('ImplicitlyDenied')
    // What the auditor may do: read and simulate, never write.
    const auditorPolicy = auditorRolePolicy('aws', MEMBER)
    const may = (action: string, resource: string) =>
      simulate([auditorPolicy], { action, resource }, `arn:aws:iam::${MEMBER}:role/keyless/keyless-auditor`)
    expect(await may('iam:GetAccountAuthorizationDetails', '*')).toBe('Allowed')
    expect(await may('iam:SimulatePrincipalPolicy', `arn:aws:iam::${MEMBER}:role/ops-admin`)).toBe('Allowed')
    expect(await may('iam:PutRolePolicy', `arn:aws:iam::${MEMBER}:role/ops-admin`)).toBe('ImplicitlyDenied')
    expect(await may('iam:CreateAccessKey', `arn:aws:iam::${MEMBER}:user/carol`)).toBe('ImplicitlyDenied')
    // At home, the audit function may assume exactly the members' auditors, weekly.
    expect(statementsOf('audit').find((statement) => statement.Sid === 'ActAsAuditors')).toEqual({
      Sid: 'ActAsAuditors',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: `arn:aws:iam::${MEMBER}:role/keyless/keyless-auditor`,
    })
    const [, schedule] =
      ofType('AWS::Events::Rule').find(([, rule]) => rule.Properties.Name === 'keyless-audit') ?? []
    expect(schedule?.Properties.ScheduleExpression).toBe('rate(7 days)')
  })

  it('lets only the functions that act in member accounts assume their agent roles, and no other role', async () => {
    const agent = 'arn:aws:iam::444455556666:role/keyless/keyless-agent'
    const acting = [
      'attach-access',
      'extend-access',
      'revoke-access',
      'fail-activation',
      'reconciler',
      'alerts',
    ]
    for (const folder of [...Object.values(GRANT_WORKFLOW_FOLDERS), 'slack', 'reconciler', 'alerts']) {
      const assumes = statementsOf(folder).filter((statement) =>
        [statement.Action].flat().includes('sts:AssumeRole'),
      )
      expect(assumes, folder).toEqual(
        acting.includes(folder)
          ? [{ Sid: 'ActAsAgents', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: agent }]
          : [],
      )
    }
    // Across accounts both sides must allow: each role here trusts keyless's home roles as the agent
    // does, so a denial is the function's own policy refusing.
    const task = 'arn:aws:iam::111122223333:role/keyless/Keyless-WorkflowRevokeAccessRole-ABC'
    const assume = (role: string) =>
      simulate(
        literalPolicy('revoke-access'),
        { action: 'sts:AssumeRole', resource: role, context: { 'aws:PrincipalArn': task } },
        task,
        { resourcePolicy: agentRoleTrust('aws', '111122223333') },
      )
    expect(await assume(agent)).toBe('Allowed')
    expect(await assume('arn:aws:iam::444455556666:role/keyless/grant/U0CAROL')).toBe('ImplicitlyDenied')
    expect(await assume('arn:aws:iam::444455556666:role/OrganizationAccountAccessRole')).toBe(
      'ImplicitlyDenied',
    )
  })

  it("writes the home account's grant roles only with the grant boundary, and never its own roles", async () => {
    const [, boundary] = onlyOfType('AWS::IAM::ManagedPolicy')
    expect(boundary.Properties).toMatchObject({
      ManagedPolicyName: 'keyless-grant-boundary',
      Path: '/keyless/',
    })
    const dans = 'arn:aws:iam::111122223333:role/keyless/grant/U0DAN'
    const withBoundary = {
      'iam:PermissionsBoundary': 'arn:aws:iam::111122223333:policy/keyless/keyless-grant-boundary',
    }
    const as = (
      folder: string,
      action: string,
      resource: string,
      context: Record<string, string | string[]> = {},
    ) => simulate(literalPolicy(folder), { action, resource, context })
    expect(await as('attach-access', 'iam:CreateRole', dans, withBoundary)).toBe('Allowed')
    expect(await as('attach-access', 'iam:PutRolePolicy', dans, withBoundary)).toBe('Allowed')
    expect(await as('attach-access', 'iam:CreateRole', dans)).toBe('ImplicitlyDenied')
    expect(await as('attach-access', 'iam:PutRolePolicy', dans)).toBe('ImplicitlyDenied')
    expect(await as('attach-access', 'iam:DeleteRolePermissionsBoundary', dans)).toBe('ExplicitlyDenied')
    expect(await as('revoke-access', 'iam:DeleteRolePolicy', dans, withBoundary)).toBe('Allowed')
    expect(await as('revoke-access', 'iam:CreateRole', dans, withBoundary)).toBe('ImplicitlyDenied')
    // Tagged with its person, and with nothing else.
    const personTag = { 'aws:TagKeys': ['keyless:person'] }
    expect(await as('attach-access', 'iam:TagRole', dans, personTag)).toBe('Allowed')
    expect(
      await as('attach-access', 'iam:TagRole', dans, { 'aws:TagKeys': ['keyless:person', 'team'] }),
    ).toBe('ImplicitlyDenied')
    expect(await as('revoke-access', 'iam:TagRole', dans, personTag)).toBe('ImplicitlyDenied')
    // keyless's own roles, even named as if under the grant roles' boundary.
    for (const own of [
      'arn:aws:iam::111122223333:role/keyless/Keyless-WorkflowAttachAccessRole-ABC',
      'arn:aws:iam::111122223333:role/keyless/Keyless-us-east-1-ForwardRole-XYZ',
    ]) {
      expect(await as('attach-access', 'iam:PutRolePolicy', own, withBoundary), own).not.toBe('Allowed')
      expect(
        await as('attach-access', 'iam:TagRole', own, { 'aws:TagKeys': ['keyless:person'] }),
        own,
      ).not.toBe('Allowed')
    }
  })

  it("holds the member targets' port-forward documents, which the home stack does not", () => {
    const names = memberOfType('AWS::SSM::Document').map((document) => document.Properties.Name)
    expect(names).toEqual(['keyless-batch-port-8080'])
  })
})

describe('deploy options', () => {
  it('an alarm email, a permissions boundary and a trail, when asked for', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'platform@example.com',
    })
    for (const stack of [template, Template.fromStack(satellites[0] as never)]) {
      for (const [id, alarm] of Object.entries(stack.findResources('AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties.AlarmActions, id).toHaveLength(1)
      }
      for (const [id, role] of Object.entries(stack.findResources('AWS::IAM::Role'))) {
        expect(JSON.stringify(role.Properties.PermissionsBoundary), id).toContain('policy/org-boundary')
      }
    }
    template.hasResourceProperties('AWS::CloudTrail::Trail', { IsMultiRegionTrail: true, IsLogging: true })
    expect(readDeployOptions(() => undefined)).toEqual({ createTrail: false })
  })

  it('a wrong option stops synth with its key named', () => {
    const read = (values: Record<string, string>) => () => readDeployOptions((key) => values[key])
    expect(read({ 'keyless:alarmEmail': 'not-mail' })).toThrow(
      'keyless:alarmEmail: expected an email address',
    )
    expect(read({ 'keyless:createTrail': 'yes' })).toThrow('keyless:createTrail: expected true or false')
    expect(read({ 'keyless:permissionsBoundary': 'org-boundary' })).toThrow(
      'keyless:permissionsBoundary: expected a managed policy ARN',
    )
    expect(
      read({
        'keyless:alarmEmail': 'a@example.com',
        'keyless:alarmTopicArn': 'arn:aws:sns:eu-west-1:111122223333:ops',
      }),
    ).toThrow('set keyless:alarmEmail or keyless:alarmTopicArn, not both')
  })
})
