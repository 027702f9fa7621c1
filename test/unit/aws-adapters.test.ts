import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  LimitExceededException,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam'
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn'
import {
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  SSMClient,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { mockClient } from 'aws-sdk-client-mock'
import { beforeEach, describe, expect, it } from 'vitest'
import { AwsAccessBackend, ownedBy } from '../../shared/adapters/aws/access-backend.ts'
import {
  accessClientsByAccount,
  createIamClient,
  ssmClientsByRegion,
} from '../../shared/adapters/aws/access-clients.ts'
import { AwsWorkflow } from '../../shared/adapters/aws/step-functions-workflow.ts'
import { AccessBackendError, AccessBackendRetryableError } from '../../shared/core/access/backend.ts'
import { parsePrincipalArn } from '../../shared/core/aws/arn.ts'
import { buildGrantPolicy } from '../../shared/core/policy/grant-policy.ts'
import { grantBoundaryArn, grantRoleArn, grantRoleTrust } from '../../shared/core/policy/grant-role.ts'
import { specConfig } from '../kit/config.ts'
import { pendingGrant, T0 } from '../kit/grants.ts'

const role = parsePrincipalArn('arn:aws:iam::111122223333:role/ops/alice-ops')
const user = parsePrincipalArn('arn:aws:iam::111122223333:user/alice')
if (!role || !user) throw new Error('bad principals')
const config = specConfig()
const policy = buildGrantPolicy(
  config,
  config.targets.get('prod-db') ?? (undefined as never),
  new Date('2026-11-23T10:30:00Z'),
)

const iam = mockClient(IAMClient)
const ssm = mockClient(SSMClient)
const sfn = mockClient(SFNClient)
const sts = mockClient(STSClient)
beforeEach(() => {
  iam.reset()
  ssm.reset()
  sfn.reset()
  sts.reset()
})

const HOME = { account: '111122223333', partition: 'aws' } as const
const backend = () => new AwsAccessBackend(accessClientsByAccount(HOME, { region: 'us-east-1' }))
const serviceError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} (test)`), { name, $metadata: {}, ...extra })

describe('AwsAccessBackend', () => {
  it('attaches a role grant as an inline role policy named for the grant', async () => {
    iam.on(PutRolePolicyCommand).resolves({})
    await backend().attachPolicy(role, 'keyless-g-0000000001', policy)
    expect(iam.commandCalls(PutRolePolicyCommand)[0]?.args[0].input).toEqual({
      RoleName: 'alice-ops',
      PolicyName: 'keyless-g-0000000001',
      PolicyDocument: JSON.stringify(policy),
    })
  })

  it('attaches a user grant as an inline user policy', async () => {
    iam.on(PutUserPolicyCommand).resolves({})
    await backend().attachPolicy(user, 'keyless-g-0000000001', policy)
    expect(iam.commandCalls(PutUserPolicyCommand)[0]?.args[0].input).toMatchObject({
      UserName: 'alice',
      PolicyName: 'keyless-g-0000000001',
    })
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0)
  })

  it('detaches, treating an already-missing policy as success', async () => {
    iam.on(DeleteRolePolicyCommand).rejects(new NoSuchEntityException({ message: 'gone', $metadata: {} }))
    iam.on(DeleteUserPolicyCommand).resolves({})
    await expect(backend().detachPolicy(role, 'keyless-g-0000000001')).resolves.toBeUndefined()
    await backend().detachPolicy(user, 'keyless-g-0000000001')
    expect(iam.commandCalls(DeleteUserPolicyCommand)[0]?.args[0].input).toEqual({
      UserName: 'alice',
      PolicyName: 'keyless-g-0000000001',
    })
  })

  it('turns throttling, transient and 5xx failures into a retryable error, anything else (a quota too) into a final one', async () => {
    iam
      .on(PutRolePolicyCommand)
      .rejectsOnce(serviceError('Throttling', { $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(serviceError('ServiceFailure', { $fault: 'server', $metadata: { httpStatusCode: 500 } }))
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .rejectsOnce(
        new LimitExceededException({ message: 'Maximum policy size of 2048 bytes exceeded', $metadata: {} }),
      )
      .resolves({})
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(backend().attachPolicy(role, 'keyless-g-1', policy)).rejects.toBeInstanceOf(
        AccessBackendRetryableError,
      )
    }
    // IAM's quota on inline policies: no retry makes the policy fit.
    const quota = await backend()
      .attachPolicy(role, 'keyless-g-1', policy)
      .catch((error: unknown) => error)
    expect(quota).toBeInstanceOf(AccessBackendError)
    expect((quota as Error).message).toContain(
      'LimitExceededException: Maximum policy size of 2048 bytes exceeded',
    )
    await expect(backend().attachPolicy(role, 'keyless-g-1', policy)).resolves.toBeUndefined()
  })

  it('makes one attempt per IAM or Session Manager call: the workflow and the reconciler are the retry layer', async () => {
    expect(await createIamClient({ region: 'eu-west-1' }).config.maxAttempts()).toBe(1)
    expect(await ssmClientsByRegion()('eu-west-1').config.maxAttempts()).toBe(1)
  })

  it('names the failure an operator must act on', async () => {
    iam.on(DeleteRolePolicyCommand).rejects(serviceError('AccessDenied'))
    await expect(backend().detachPolicy(role, 'keyless-g-1')).rejects.toThrow(
      'could not remove keyless-g-1 from arn:aws:iam::111122223333:role/ops/alice-ops: AccessDenied: AccessDenied (test)',
    )
  })

  it('lists only keyless policies, across pages', async () => {
    iam
      .on(ListRolePoliciesCommand)
      .resolvesOnce({ PolicyNames: ['keyless-g-1', 'baseline'], IsTruncated: true, Marker: 'm1' })
      .resolvesOnce({ PolicyNames: ['keyless-g-2'], IsTruncated: false })
    expect(await backend().listGrantPolicies(role)).toEqual(['keyless-g-1', 'keyless-g-2'])
    expect(iam.commandCalls(ListRolePoliciesCommand)[1]?.args[0].input).toEqual({
      RoleName: 'alice-ops',
      Marker: 'm1',
    })
  })

  it("lists the principal's active sessions on the target's tagged instances, region by region", async () => {
    ssm.on(DescribeInstanceInformationCommand).callsFake((_input, getClient) =>
      (getClient() as SSMClient).config.region().then((region: string) => ({
        InstanceInformationList: region === 'eu-west-1' ? [{ InstanceId: 'i-prod1' }] : [],
      })),
    )
    ssm.on(DescribeSessionsCommand).resolves({
      Sessions: [
        {
          SessionId: 's-mine',
          Target: 'i-prod1',
          Owner: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
        },
        {
          SessionId: 's-other-target',
          Target: 'i-web1',
          Owner: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
        },
        {
          SessionId: 's-bob',
          Target: 'i-prod1',
          Owner: 'arn:aws:sts::111122223333:assumed-role/bob-ops/bob',
        },
        {
          SessionId: 's-prefix',
          Target: 'i-prod1',
          Owner: 'arn:aws:sts::111122223333:assumed-role/alice-ops-admin/x',
        },
      ],
    })
    const sessions = await backend().listActiveSessions(role, {
      account: '111122223333',
      tagKey: 'access-target',
      tagValue: 'prod-db',
      regions: ['eu-west-1', 'us-east-1'],
    })
    expect(sessions).toEqual([
      {
        account: '111122223333',
        sessionId: 's-mine',
        region: 'eu-west-1',
        target: 'i-prod1',
        owner: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      },
    ])
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Key: 'tag:access-target', Values: ['prod-db'] }],
      NextToken: undefined,
    })
    expect(ssm.commandCalls(DescribeSessionsCommand)).toHaveLength(1) // no tagged instance in us-east-1: no session listing
    expect(ssm.commandCalls(DescribeSessionsCommand)[0]?.args[0].input).toMatchObject({ State: 'Active' })
  })

  it('terminates a session in its own region', async () => {
    ssm.on(TerminateSessionCommand).resolves({ SessionId: 's-mine' })
    await backend().terminateSession({
      account: '111122223333',
      sessionId: 's-mine',
      region: 'us-east-1',
      target: 'i-1',
      owner: 'x',
    })
    expect(ssm.commandCalls(TerminateSessionCommand)[0]?.args[0].input).toEqual({ SessionId: 's-mine' })
    expect(await ssm.commandCalls(TerminateSessionCommand)[0]?.thisValue.config.region()).toBe('us-east-1')
  })

  it('matches session owners exactly: a role by its assumed-role sessions, a user by its ARN', () => {
    expect(ownedBy('arn:aws:sts::111122223333:assumed-role/alice-ops/alice', role)).toBe(true)
    expect(ownedBy('arn:aws:sts::111122223333:assumed-role/alice-ops-admin/alice', role)).toBe(false)
    expect(ownedBy('arn:aws:sts::444455556666:assumed-role/alice-ops/alice', role)).toBe(false)
    expect(ownedBy('arn:aws:iam::111122223333:user/alice', user)).toBe(true)
    expect(ownedBy('arn:aws:iam::111122223333:user/alice2', user)).toBe(false)
    expect(ownedBy(undefined, user)).toBe(false)
  })
})

describe('AwsAccessBackend, grant roles', () => {
  const MEMBER = '444455556666'
  const carol = {
    roleArn: grantRoleArn('aws', MEMBER, 'U0CAROL'),
    boundary: grantBoundaryArn('aws', MEMBER),
    trust: grantRoleTrust('aws', MEMBER, {
      kind: 'identity-center',
      permissionSet: 'KeylessAccess',
      user: 'carol@example.com',
    }),
    tags: { 'keyless:person': 'U0CAROL' },
  }
  /** GetRole's answer: IAM returns the trust URL-encoded. */
  const found = (
    boundary: string | undefined,
    trust: object,
    tags: { Key: string; Value: string }[] = [{ Key: 'keyless:person', Value: 'U0CAROL' }],
  ) => ({
    Role: {
      Tags: tags,
      RoleName: 'U0CAROL',
      Path: '/keyless/grant/',
      Arn: carol.roleArn,
      RoleId: 'AROAEXAMPLE',
      CreateDate: new Date(T0),
      AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)),
      ...(boundary
        ? {
            PermissionsBoundary: {
              PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
              PermissionsBoundaryArn: boundary,
            },
          }
        : {}),
    },
  })
  const writes = () =>
    iam.commandCalls(CreateRoleCommand).length +
    iam.commandCalls(UpdateAssumeRolePolicyCommand).length +
    iam.commandCalls(TagRoleCommand).length

  it('creates a missing grant role under /keyless/grant/, bounded, trusting the person, sessions of an hour', async () => {
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no role', $metadata: {} }))
    iam.on(CreateRoleCommand).resolves({})
    iam.on(TagRoleCommand).resolves({})
    expect(await backend().prepareGrantRole(carol)).toEqual({})
    expect(iam.commandCalls(CreateRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleName: 'U0CAROL',
      Path: '/keyless/grant/',
      PermissionsBoundary: 'arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary',
      MaxSessionDuration: 3600,
    })
    const input = iam.commandCalls(CreateRoleCommand)[0]?.args[0].input
    expect(JSON.parse(input?.AssumeRolePolicyDocument ?? '')).toEqual(carol.trust)
    expect(iam.commandCalls(TagRoleCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'U0CAROL', Tags: [{ Key: 'keyless:person', Value: 'U0CAROL' }] },
    ])
  })

  it('creates the role all the same when it may not tag it yet, and says why it is untagged', async () => {
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no role', $metadata: {} }))
    iam.on(CreateRoleCommand).resolves({})
    const denied = Object.assign(new Error('not authorized to perform: iam:TagRole'), {
      name: 'AccessDenied',
    })
    iam.on(TagRoleCommand).rejects(denied)
    expect(await backend().prepareGrantRole(carol)).toEqual({
      untagged: `could not tag ${carol.roleArn}: not authorized to perform: iam:TagRole`,
    })
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(1)
  })

  it('writes nothing to a role that is as keyless made it, and replaces a trust the config changed', async () => {
    iam.on(GetRoleCommand).resolvesOnce(found(carol.boundary, carol.trust))
    await backend().prepareGrantRole(carol)
    expect(writes()).toBe(0)
    const someoneElse = grantRoleTrust('aws', MEMBER, {
      kind: 'principal',
      arn: 'arn:aws:iam::111122223333:role/bob',
    })
    iam.on(GetRoleCommand).resolves(found(carol.boundary, someoneElse))
    iam.on(UpdateAssumeRolePolicyCommand).resolves({})
    await backend().prepareGrantRole(carol)
    const update = iam.commandCalls(UpdateAssumeRolePolicyCommand)[0]?.args[0].input
    expect(update?.RoleName).toBe('U0CAROL')
    expect(JSON.parse(update?.PolicyDocument ?? '')).toEqual(carol.trust)
    expect(iam.commandCalls(TagRoleCommand)).toHaveLength(0)
  })

  it('tags a role made before keyless tagged, leaving the tags someone else put on it', async () => {
    iam.on(GetRoleCommand).resolves(found(carol.boundary, carol.trust, [{ Key: 'team', Value: 'dba' }]))
    iam.on(TagRoleCommand).resolves({})
    await backend().prepareGrantRole(carol)
    expect(iam.commandCalls(TagRoleCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'U0CAROL', Tags: [{ Key: 'keyless:person', Value: 'U0CAROL' }] },
    ])
    expect(iam.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(0)
  })

  it('refuses, writing nothing, a grant role whose boundary was lifted', async () => {
    iam.on(GetRoleCommand).resolves(found(undefined, carol.trust))
    const refusal = await backend()
      .prepareGrantRole(carol)
      .catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(AccessBackendError)
    expect((refusal as Error).message).toContain('has no permissions boundary')
    expect(writes()).toBe(0)
  })

  it('reads the role again (a retry) when another grant created it meanwhile', async () => {
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no role', $metadata: {} }))
    iam.on(CreateRoleCommand).rejects(new EntityAlreadyExistsException({ message: 'exists', $metadata: {} }))
    await expect(backend().prepareGrantRole(carol)).rejects.toBeInstanceOf(AccessBackendRetryableError)
  })
})

describe('AwsAccessBackend, accounts', () => {
  const member = parsePrincipalArn('arn:aws:iam::444455556666:role/keyless/grant/U0CAROL')
  if (!member) throw new Error('bad principal')
  const AGENT_KEYS = {
    AccessKeyId: 'ASIAAGENT',
    SecretAccessKey: 'agent-secret',
    SessionToken: 'agent-token',
  }

  it("acts in the home account with the function's own credentials, assuming nothing", async () => {
    iam.on(PutRolePolicyCommand).resolves({})
    await backend().attachPolicy(role, 'keyless-g-1', policy)
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0)
  })

  // The mock replaces each client's send, so the SDK's own credential resolution and signing
  // never run here: the test asks each client for the credentials it would sign with.
  const signingCredentials = (
    call: { thisValue: { config: { credentials: () => Promise<unknown> } } } | undefined,
  ) => call?.thisValue.config.credentials()

  it('acts in a member account only as its agent role, assumed once for many calls', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { ...AGENT_KEYS, Expiration: new Date(Date.now() + 15 * 60_000) },
    })
    iam.on(PutRolePolicyCommand).resolves({})
    iam.on(DeleteRolePolicyCommand).resolves({})
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] })
    const shared = backend()
    await shared.attachPolicy(member, 'keyless-g-1', policy)
    await shared.detachPolicy(member, 'keyless-g-1')
    const put = iam.commandCalls(PutRolePolicyCommand)[0]
    const removed = iam.commandCalls(DeleteRolePolicyCommand)[0]
    expect(await signingCredentials(put)).toMatchObject({
      accessKeyId: 'ASIAAGENT',
      sessionToken: 'agent-token',
    })
    expect(await signingCredentials(removed)).toMatchObject({ accessKeyId: 'ASIAAGENT' })
    expect(put?.thisValue).toBe(removed?.thisValue) // one client per account, kept
    expect(sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toEqual([
      {
        RoleArn: 'arn:aws:iam::444455556666:role/keyless/keyless-agent',
        RoleSessionName: 'keyless',
        DurationSeconds: 900,
      },
    ])
    // The home account's client is another, signing with the function's own credentials.
    await shared.attachPolicy(role, 'keyless-g-2', policy)
    expect(iam.commandCalls(PutRolePolicyCommand)[1]?.thisValue).not.toBe(put?.thisValue)
  })

  it('refuses with STS’s reason when the agent cannot be assumed', async () => {
    sts.on(AssumeRoleCommand).rejects(serviceError('AccessDenied'))
    iam.on(PutRolePolicyCommand).resolves({})
    await backend().attachPolicy(member, 'keyless-g-1', policy)
    await expect(signingCredentials(iam.commandCalls(PutRolePolicyCommand)[0])).rejects.toThrow(
      'AccessDenied',
    )
  })
})

describe('AwsWorkflow', () => {
  const workflow = () =>
    new AwsWorkflow(
      new SFNClient({ region: 'eu-west-1' }),
      'arn:aws:states:eu-west-1:111122223333:stateMachine:keyless-grant',
    )

  it('starts one execution named by the grant id, with the payload under Payload', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: T0 })
    const grant = pendingGrant(config)
    await workflow().start(grant, T0)
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:keyless-grant',
      name: grant.id,
      // Halfway to the 30-minute deadline, the approvers get a reminder: the first wait is 15 minutes.
      input: JSON.stringify({
        Payload: { grantId: grant.id, stage: 'ask', asked: false, remind: true, timeoutSeconds: 900 },
      }),
    })
  })

  it('finds the latest attempt by DescribeExecution of <id>, <id>-2, … until one does not exist', async () => {
    const grant = pendingGrant(config)
    const prefix = 'arn:aws:states:eu-west-1:111122223333:execution:keyless-grant:'
    const statuses: Record<string, 'FAILED' | 'ABORTED' | 'RUNNING'> = {
      [`${prefix}${grant.id}`]: 'FAILED',
      [`${prefix}${grant.id}-2`]: 'ABORTED',
    }
    sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
      const status = statuses[executionArn]
      if (!status) throw new ExecutionDoesNotExist({ message: 'no such execution', $metadata: {} })
      return { executionArn, status }
    })
    expect(await workflow().latestExecution(grant.id)).toEqual({
      name: `${grant.id}-2`,
      attempt: 2,
      running: false,
    })
    expect(sfn.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input.executionArn)).toEqual(
      [`${prefix}${grant.id}`, `${prefix}${grant.id}-2`, `${prefix}${grant.id}-3`],
    )
    statuses[`${prefix}${grant.id}-3`] = 'RUNNING'
    expect((await workflow().latestExecution(grant.id))?.running).toBe(true)
    expect(await workflow().latestExecution('g-0000000000')).toBeUndefined()
  })

  it('passes on a DescribeExecution failure other than a missing execution', async () => {
    sfn.on(DescribeExecutionCommand).rejects(new Error('ThrottlingException'))
    await expect(workflow().latestExecution('g-0000000001')).rejects.toThrow('ThrottlingException')
  })

  it('starts a named attempt from where the grant stands; an existing name starts nothing', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:x', startDate: T0 })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }))
    const grant = pendingGrant(config)
    const active = { ...grant, status: 'ACTIVE' as const, expiresAt: '2026-11-23T11:00:00Z' }
    expect(await workflow().startExecution(active, `${grant.id}-2`, T0)).toBe(true)
    expect(await workflow().startExecution(active, `${grant.id}-2`, T0)).toBe(false)
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      name: `${grant.id}-2`,
      // An active grant waits for its end: until five minutes before expiry, for the warning.
      input: JSON.stringify({
        Payload: {
          grantId: grant.id,
          expiresAt: '2026-11-23T11:00:00Z',
          warn: true,
          timeoutSeconds: 3300,
          stage: 'wait',
        },
      }),
    })
  })

  it('treats a second start of the same grant as done', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }))
    await expect(workflow().start(pendingGrant(config), T0)).resolves.toBeUndefined()
  })

  it('ends waits with SendTaskSuccess and SendTaskFailure, ignoring a spent token', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({})
    sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }))
    await workflow().resume('token-1', { grantId: 'g-0000000001', event: 'revoke' })
    await expect(
      workflow().reject('token-2', 'RequestClosed', 'the request was denied'),
    ).resolves.toBeUndefined()
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-1',
      output: '{"grantId":"g-0000000001","event":"revoke"}',
    })
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-2',
      error: 'RequestClosed',
      cause: 'the request was denied',
    })
  })

  it('passes on other failures', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(serviceError('AccessDeniedException'))
    await expect(workflow().resume('token-1', { grantId: 'g-0000000001' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
  })
})
