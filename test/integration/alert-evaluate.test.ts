import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { evaluate, evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import type { InstanceInventory } from '../../shared/core/alerts/inventory.ts'
import { readRecord } from '../../shared/core/alerts/record.ts'
import type { Grant } from '../../shared/core/grants/grant.ts'
import { access, assumedRole, fixture, startSession } from '../kit/cloudtrail.ts'
import { configFrom, MEMBER_ACCOUNT, organizationConfigObject, specConfigObject } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { activeGrant, advance, alice, at, pendingGrant, workflow } from '../kit/grants.ts'

const PROD_DB = 'i-0123456789abcdef0'
const DEV_WEB = 'i-0aaaaaaaaaaaaaaa1'
const UNTAGGED = 'i-0bbbbbbbbbbbbbbb2'

/** The instances of the tests, by region: what EC2 would answer, and every question asked of it. */
class RecordingInventory implements InstanceInventory {
  readonly asked: { account: string; region: string; tagKey: string; instanceIds: readonly string[] }[] = []
  readonly #tags = new Map([
    [PROD_DB, 'prod-db'],
    [DEV_WEB, 'dev-web'],
  ])
  async tagValues(account: string, region: string, tagKey: string, instanceIds: readonly string[]) {
    this.asked.push({ account, region, tagKey, instanceIds })
    return new Map(
      instanceIds.flatMap((id) => (this.#tags.has(id) ? [[id, this.#tags.get(id) as string]] : [])),
    )
  }
}

const configObject = specConfigObject()
const config = configFrom({
  ...configObject,
  people: {
    ...configObject.people,
    U0CAROL: { principal: 'arn:aws:iam::111122223333:user/carol' },
    U0DAVE: { principal: 'arn:aws:iam::111122223333:role/Dave-Admin' },
  },
})
/** With member account prod, whose target batch is tagged dev-web there (as DEV_WEB is). */
const memberObject = organizationConfigObject()
memberObject.targets.batch.tagValue = 'dev-web'
const member = configFrom(memberObject)
let db: EmbeddedDynamo
let inventory: RecordingInventory
const context = () => evaluationContext(config, inventory, db.store)

beforeAll(async () => {
  db = await startEmbeddedDynamo('keyless-alerts')
})
afterAll(async () => {
  await db?.close()
})

/** A StartSession by Alice's role at `time` on `instance` (MFA, allowed network: nothing stateless fires). */
const aliceSession = (time: Date, instance = PROD_DB, overrides: Record<string, unknown> = {}) =>
  access(
    startSession({
      eventTime: time.toISOString(),
      eventID: `e-${Math.random().toString(16).slice(2)}`,
      requestParameters: { target: instance },
      ...overrides,
    }),
  )

/** Alice's dev-web grant (auto-approved), active from T0+60s. */
const activeDevWeb = (durationSeconds: number) =>
  advance(pendingGrant(config, { target: 'dev-web', durationSeconds }), [
    [{ type: 'activate' }, workflow, at(60)],
  ])

async function stored(grant: Grant): Promise<Grant> {
  await db.store.create(grant)
  return grant
}
const rulesOf = async (event: ReturnType<typeof access>) =>
  (await evaluate(event, context())).findings.map((finding) => finding.rule)

describe('NO_ACTIVE_GRANT and BREAK_GLASS', () => {
  let grant: Grant // Alice's prod-db grant, active from T0+60s for 30 minutes
  beforeAll(async () => {
    inventory = new RecordingInventory()
    // Each test's grants are Alice's; a fresh table keeps them apart from other describes.
    grant = await stored(activeGrant(config))
  })

  it('an access under an active grant names the grant, the person and the target, and raises nothing', async () => {
    const verdict = await evaluate(aliceSession(at(120)), context())
    expect(verdict).toMatchObject({
      target: 'prod-db',
      grantId: grant.id,
      configuredPrincipal: 'arn:aws:iam::111122223333:role/alice-ops',
      people: ['U0ALICE'],
      principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      findings: [],
    })
    expect(inventory.asked.at(-1)).toEqual({
      account: '111122223333',
      region: 'eu-west-1',
      tagKey: 'access-target',
      instanceIds: [PROD_DB],
    })
  })

  it('a grant on another target does not cover an instance of this one', async () => {
    // Alice holds prod-db only (dev-web grants come later in this block).
    expect(await rulesOf(aliceSession(at(120), DEV_WEB))).toEqual(['NO_ACTIVE_GRANT'])
  })

  it('is judged at the time CloudTrail recorded it: the grant covers from activation until expiry, not after', async () => {
    expect(await rulesOf(aliceSession(at(60 + 1799)))).toEqual([])
    expect(await rulesOf(aliceSession(at(60 + 1800)))).toEqual(['NO_ACTIVE_GRANT'])
    // The policy is attached just before the activation is written: a little earlier is covered.
    expect(await rulesOf(aliceSession(at(30)))).toEqual([])
    expect(await rulesOf(aliceSession(at(-60)))).toEqual(['NO_ACTIVE_GRANT'])
  })

  it('a grant that has ended still covers what happened while it was active', async () => {
    const ended = advance(activeDevWeb(1800), [[{ type: 'end' }, workflow, at(60 + 1800)]])
    await stored(ended)
    expect(ended.status).toBe('EXPIRED')
    const verdict = await evaluate(aliceSession(at(600), DEV_WEB), context())
    expect(verdict).toMatchObject({ target: 'dev-web', grantId: ended.id, findings: [] })
  })

  it('a revoked grant covers until its revocation, not until its planned expiry', async () => {
    const revoked = advance(activeDevWeb(7200), [
      [{ type: 'request-revocation' }, alice, at(3000)],
      [{ type: 'end' }, workflow, at(3005)],
    ])
    await stored(revoked)
    expect(revoked.status).toBe('REVOKED')
    expect((await evaluate(aliceSession(at(3004), DEV_WEB), context())).grantId).toBe(revoked.id)
    expect(await rulesOf(aliceSession(at(3006), DEV_WEB))).toEqual(['NO_ACTIVE_GRANT'])
  })

  it('an SSH key needs a grant on a target with ssh access; the serial console is never granted', async () => {
    const sshKey = (instance: string, eventName = 'SendSSHPublicKey') =>
      access({
        ...startSession({ eventTime: at(120).toISOString(), eventID: `e-ssh-${instance}-${eventName}` }),
        eventSource: 'ec2-instance-connect.amazonaws.com',
        eventName,
        requestParameters: { instanceId: instance, instanceOSUser: 'ec2-user' },
      })
    expect(await rulesOf(sshKey(PROD_DB))).toEqual([]) // prod-db allows ssh
    expect(await rulesOf(sshKey(PROD_DB, 'SendSerialConsoleSSHPublicKey'))).toEqual([
      'NO_ACTIVE_GRANT',
      'SERIAL_CONSOLE',
    ])
  })

  it('a principal keyless does not know, on an instance of a target, is NO_ACTIVE_GRANT', async () => {
    const stranger = access(
      startSession({
        eventTime: at(120).toISOString(),
        userIdentity: assumedRole('legacy-admin', 'eve'),
      }),
    )
    const verdict = await evaluate(stranger, context())
    expect(verdict).toMatchObject({ target: 'prod-db', configuredPrincipal: null, people: [], grantId: null })
    expect(verdict.findings).toEqual([
      expect.objectContaining({ rule: 'NO_ACTIVE_GRANT', severity: 'critical' }),
    ])
    expect(verdict.findings[0]?.detail).toContain('a principal keyless does not know')
  })

  it('matches a configured user by its ARN, and a role whatever the case CloudTrail spells it in', async () => {
    const carol = access(
      startSession({
        eventTime: at(120).toISOString(),
        userIdentity: {
          type: 'IAMUser',
          arn: 'arn:aws:iam::111122223333:user/carol',
          accountId: '111122223333',
        },
      }),
    )
    const verdict = await evaluate(carol, context())
    expect(verdict).toMatchObject({
      configuredPrincipal: 'arn:aws:iam::111122223333:user/carol',
      people: ['U0CAROL'],
    })
    // Carol has no grant; her long-term keys carry no MFA.
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['NO_MFA', 'NO_ACTIVE_GRANT'])

    const dave = access(
      startSession({
        eventTime: at(120).toISOString(),
        userIdentity: assumedRole('dave-admin', 'dave'),
      }),
    )
    expect((await evaluate(dave, context())).configuredPrincipal).toBe(
      'arn:aws:iam::111122223333:role/Dave-Admin',
    )
  })

  it('an instance of no target gets target null and the stateless rules only', async () => {
    const verdict = await evaluate(
      aliceSession(at(120), UNTAGGED, { sourceIPAddress: '198.51.100.9' }),
      context(),
    )
    expect(verdict).toMatchObject({ target: null, grantId: null })
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['UNEXPECTED_SOURCE_IP'])
  })

  it("a session of a person's grant role in a member account is theirs, covered by their grant there", async () => {
    const role = 'arn:aws:iam::444455556666:role/keyless/grant/U0CAROL'
    const grant = await stored(
      advance(pendingGrant(member, { requester: 'U0CAROL', target: 'batch' }), [
        [{ type: 'approve' }, { kind: 'slack', id: 'U0MANAGER1' }, at(30)],
        [{ type: 'activate' }, workflow, at(60)],
      ]),
    )
    expect(grant.principal).toBe(role)
    const carolsSession = {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::444455556666:assumed-role/U0CAROL/carol@example.com',
      accountId: '444455556666',
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: role },
        attributes: { mfaAuthenticated: 'true' },
      },
    }
    const event = (time: Date) =>
      aliceSession(time, DEV_WEB, { recipientAccountId: '444455556666', userIdentity: carolsSession })
    const covered = await evaluate(event(at(120)), evaluationContext(member, inventory, db.store))
    expect(covered).toMatchObject({
      configuredPrincipal: role,
      people: ['U0CAROL'],
      target: 'batch',
      grantId: grant.id,
      findings: [],
    })
    // After the grant's end the same session is access without a grant, named as Carol's.
    const after = await evaluate(event(at(60 + 1800 + 5)), evaluationContext(member, inventory, db.store))
    expect(after.findings.map((finding) => finding.rule)).toEqual(['NO_ACTIVE_GRANT'])
    expect(after.people).toEqual(['U0CAROL'])
    // Carol straight through a permission set of hers, not her grant role: no grant, but hers.
    const adminSet =
      'arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef'
    const direct = await evaluate(
      aliceSession(at(120), DEV_WEB, {
        recipientAccountId: '444455556666',
        userIdentity: {
          ...carolsSession,
          arn: 'arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/Carol@example.com',
          sessionContext: { ...carolsSession.sessionContext, sessionIssuer: { type: 'Role', arn: adminSet } },
        },
      }),
      evaluationContext(member, inventory, db.store),
    )
    expect(direct).toMatchObject({ configuredPrincipal: null, people: ['U0CAROL'], grantId: null })
    expect(direct.findings.map((finding) => finding.rule)).toEqual(['NO_ACTIVE_GRANT'])
  })

  it("a member account's instance is looked up there, and only that account's targets count", async () => {
    const inMember = { recipientAccountId: '444455556666' }
    // DEV_WEB is tagged dev-web: in the member account that is batch's tag, not the home dev-web's.
    const verdict = await evaluate(
      aliceSession(at(120), DEV_WEB, inMember),
      evaluationContext(member, inventory, db.store),
    )
    expect(inventory.asked.at(-1)).toMatchObject({ account: '444455556666', instanceIds: [DEV_WEB] })
    expect(verdict).toMatchObject({ account: '444455556666', target: 'batch' })
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['NO_ACTIVE_GRANT'])
  })

  it('another account’s instance is not looked up: target null', async () => {
    const before = inventory.asked.length
    const verdict = await evaluate(
      aliceSession(at(120), PROD_DB, { recipientAccountId: '444455556666' }),
      context(),
    )
    expect(verdict).toMatchObject({ target: null, account: '444455556666', findings: [] })
    expect(inventory.asked).toHaveLength(before)
  })

  it('a denied call is ACCESS_DENIED, not NO_ACTIVE_GRANT: nothing was accessed', async () => {
    const denied = aliceSession(at(-600), PROD_DB, {
      errorCode: 'AccessDenied',
      errorMessage: 'not authorized',
    })
    expect(await rulesOf(denied)).toEqual(['ACCESS_DENIED'])
  })

  it('ResumeSession names no instance: the stateless rules only', async () => {
    const resume = access(
      startSession({
        eventName: 'ResumeSession',
        eventTime: at(-600).toISOString(),
        requestParameters: { sessionId: 'alice-0abc' },
      }),
    )
    expect(await evaluate(resume, context())).toMatchObject({ target: null, findings: [] })
  })
})

describe('break-glass', () => {
  it('every access under a break-glass grant is BREAK_GLASS, naming the grant', async () => {
    inventory = new RecordingInventory()
    const grant = await stored(
      advance(pendingGrant(config, { breakGlass: true, reason: 'primary down', target: 'dev-web' }), [
        [{ type: 'activate' }, workflow, at(86_400)],
      ]),
    )
    const verdict = await evaluate(aliceSession(at(86_400 + 10), DEV_WEB), context())
    expect(verdict.grantId).toBe(grant.id)
    expect(verdict.findings).toEqual([
      expect.objectContaining({
        rule: 'BREAK_GLASS',
        severity: 'high',
        detail: expect.stringContaining(grant.id),
      }),
    ])
  })
})

describe('every other way onto an instance, and around the alerts', () => {
  /** A fixture's record, changed where a test says, read as a watched event. */
  const watched = async (name: string, change: Record<string, unknown> = {}) =>
    access({ ...(await fixture(name)), ...change })
  const judged = async (name: string, change: Record<string, unknown> = {}, withConfig = config) => {
    inventory = new RecordingInventory()
    const verdict = await evaluate(
      await watched(name, change),
      evaluationContext(withConfig, inventory, db.store),
    )
    return { verdict, rules: verdict.findings.map((finding) => [finding.rule, finding.severity]) }
  }
  const params = async (name: string, change: Record<string, unknown>) => ({
    requestParameters: { ...(await fixture(name)).requestParameters, ...change },
  })

  it("SEND_COMMAND: Run Command to a target's instance, named by id or addressed by the targets' tag", async () => {
    // The fixture's automation role has no MFA: NO_MFA says so beside it.
    const byId = await judged('send-command.json')
    expect(byId.rules).toEqual([
      ['NO_MFA', 'high'],
      ['SEND_COMMAND', 'critical'],
    ])
    expect(byId.verdict).toMatchObject({ target: 'prod-db', instances: [PROD_DB], grantId: null })
    expect(byId.verdict.findings[1]?.detail).toContain('(prod-db)')
    const byTag = await judged(
      'send-command-by-tag.json',
      await params('send-command-by-tag.json', {
        targets: [{ key: 'tag:access-target', values: ['dev-web'] }],
      }),
    )
    expect(byTag.rules.at(-1)).toEqual(['SEND_COMMAND', 'critical'])
    expect(byTag.verdict.target).toBe('dev-web')
    expect(inventory.asked).toEqual([]) // the addressing said it: no tag read
  })

  it('SEND_COMMAND: addressed any other way it could reach any instance; to instances of no target, nothing', async () => {
    const anyInstance = await judged('send-command-by-tag.json')
    expect(anyInstance.rules.at(-1)).toEqual(['SEND_COMMAND', 'critical'])
    expect(anyInstance.verdict.subject).toBe('tag:Environment=production')
    const untagged = await judged(
      'send-command.json',
      await params('send-command.json', { instanceIds: [UNTAGGED] }),
    )
    expect(untagged.rules).toEqual([['NO_MFA', 'high']])
    // Refused by AWS: ACCESS_DENIED says so, and nothing ran.
    const refused = await judged('send-command.json', { errorCode: 'AccessDenied', errorMessage: 'no' })
    expect(refused.rules).toEqual([['ACCESS_DENIED', 'medium']])
  })

  it('OPEN_TUNNEL, GUI_CONNECTION and SERIAL_CONSOLE fire on every use, naming what they reached', async () => {
    // The fixture's IAM user has long-term keys (no MFA) and connects from outside the network.
    const tunnel = await judged('open-tunnel.json')
    expect(tunnel.rules).toEqual([
      ['NO_MFA', 'high'],
      ['UNEXPECTED_SOURCE_IP', 'high'],
      ['OPEN_TUNNEL', 'high'],
    ])
    expect(tunnel.verdict.subject).toBe('10.0.1.17 port 22')
    const gui = await judged('gui-start-connection.json')
    expect(gui.rules).toEqual([['GUI_CONNECTION', 'critical']])
    expect(gui.verdict).toMatchObject({ target: 'prod-db', instances: [PROD_DB] })
    const guiElsewhere = await judged(
      'gui-start-connection.json',
      await params('gui-start-connection.json', { InstanceId: UNTAGGED }),
    )
    expect(guiElsewhere.rules).toEqual([['GUI_CONNECTION', 'high']])
    expect((await judged('enable-serial-console-access.json')).rules).toEqual([
      ['SERIAL_CONSOLE', 'critical'],
    ])
    // A serial console key to a target's instance is also access with no grant.
    const serial = aliceSession(at(120), PROD_DB, {
      eventSource: 'ec2-instance-connect.amazonaws.com',
      eventName: 'SendSerialConsoleSSHPublicKey',
      requestParameters: { instanceId: PROD_DB, serialPort: 0 },
    })
    const verdict = await evaluate(serial, context())
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['NO_ACTIVE_GRANT', 'SERIAL_CONSOLE'])
  })

  it('TRAIL_TAMPERED: a trail stopped or deleted is critical, its selectors or settings changed high', async () => {
    const stopped = await judged('stop-logging.json')
    expect(stopped.rules).toEqual([['TRAIL_TAMPERED', 'critical']])
    expect(stopped.verdict.subject).toBe('arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events')
    expect((await judged('stop-logging.json', { eventName: 'DeleteTrail' })).rules).toEqual([
      ['TRAIL_TAMPERED', 'critical'],
    ])
    const selectors = await judged('put-event-selectors.json')
    expect(selectors.rules).toEqual([['TRAIL_TAMPERED', 'high']])
    expect(selectors.verdict.subject).toBe('management-events')
  })

  it("KEYLESS_TAMPERED: keyless's rule, preferences document, grant role or boundary changed by anyone but keyless", async () => {
    expect((await judged('disable-rule.json')).rules).toEqual([['KEYLESS_TAMPERED', 'critical']])
    expect((await judged('update-document-preferences.json')).rules).toEqual([
      ['KEYLESS_TAMPERED', 'critical'],
    ])
    const portForward = await params('update-document-preferences.json', {
      name: 'keyless-prod-db-port-5432',
    })
    expect((await judged('update-document-preferences.json', portForward)).rules).toEqual([
      ['KEYLESS_TAMPERED', 'critical'],
    ])
    // A grant role is known by its person's Slack user id, in the account the config places it.
    const grantRole = await judged(
      'put-role-policy-grant-role.json',
      { recipientAccountId: MEMBER_ACCOUNT },
      member,
    )
    expect(grantRole.rules).toEqual([['KEYLESS_TAMPERED', 'critical']])
    expect(grantRole.verdict.subject).toBe('U0CAROL')
    const boundary = await judged(
      'put-role-policy-grant-role.json',
      {
        recipientAccountId: MEMBER_ACCOUNT,
        eventName: 'CreatePolicyVersion',
        requestParameters: {
          policyArn: `arn:aws:iam::${MEMBER_ACCOUNT}:policy/keyless/keyless-grant-boundary`,
        },
      },
      member,
    )
    expect(boundary.rules).toEqual([['KEYLESS_TAMPERED', 'critical']])
    const auditor = await params('put-role-policy-grant-role.json', { roleName: 'keyless-auditor' })
    expect(
      (
        await judged(
          'put-role-policy-grant-role.json',
          { ...auditor, recipientAccountId: MEMBER_ACCOUNT },
          member,
        )
      ).rules,
    ).toEqual([['KEYLESS_TAMPERED', 'critical']])
  })

  it("KEYLESS_TAMPERED: not for keyless itself, nor for anything not keyless's; a deploy is reported as one", async () => {
    const byAgent = {
      recipientAccountId: MEMBER_ACCOUNT,
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/keyless-agent/Keyless-AttachAccess`,
        accountId: MEMBER_ACCOUNT,
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/keyless/keyless-agent` },
          attributes: { mfaAuthenticated: 'false' },
        },
      },
    }
    expect((await judged('put-role-policy-grant-role.json', byAgent, member)).rules).toEqual([])
    // The same role name in an account keyless does not run in, or a role the config does not place.
    expect(
      (await judged('put-role-policy-grant-role.json', { recipientAccountId: '999988887777' }, member)).rules,
    ).toEqual([])
    const otherRole = await params('put-role-policy-grant-role.json', { roleName: 'team-ci' })
    expect((await judged('put-role-policy-grant-role.json', otherRole, member)).rules).toEqual([])
    // keyless's home roles; a role that only looks like one, in a member account, is not.
    const home = await fixture('put-parameter-heartbeat.json')
    const keylessHome = { userIdentity: home.userIdentity }
    expect((await judged('disable-rule.json', keylessHome)).rules).toEqual([])
    // CloudFormation during a deploy: reported, as what it most likely is.
    const deploy = await judged('disable-rule.json', {
      eventName: 'PutRule',
      userIdentity: {
        ...(await fixture('disable-rule.json')).userIdentity,
        invokedBy: 'cloudformation.amazonaws.com',
      },
    })
    expect(deploy.rules).toEqual([['KEYLESS_TAMPERED', 'medium']])
    expect(deploy.verdict.findings[0]?.detail).toContain('through CloudFormation')
  })

  it("the heartbeat is keyless's own: by keyless nothing fires; written by anyone else it is tampering", async () => {
    expect((await judged('put-parameter-heartbeat.json')).rules).toEqual([])
    const forged = await judged('put-parameter-heartbeat.json', {
      userIdentity: (await fixture('disable-rule.json')).userIdentity,
    })
    expect(forged.rules).toEqual([['KEYLESS_TAMPERED', 'critical']])
    // Any other parameter is not watched at all.
    const other = readRecord({
      ...(await fixture('put-parameter-heartbeat.json')),
      requestParameters: { name: '/team/x' },
    })
    expect(other.kind).toBe('ignored')
  })
})
