import { describe, expect, it } from 'vitest'
import { addSeconds, isoSeconds } from '../../shared/core/clock.ts'
import type { TargetConfig } from '../../shared/core/config/schema.ts'
import {
  buildGrantPolicy,
  explainGrantPolicy,
  type PolicyDocument,
  policyForGrant,
  SSH_DOCUMENT,
} from '../../shared/core/policy/grant-policy.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { simulate, withoutConditionKey } from '../kit/iam.ts'

/**
 * Proof that grant policies mean what they say: every generated policy runs through the IAM
 * policy simulator, for the request it must allow and for each neighbouring request it must not.
 */

const raw = specConfigObject()
raw.regions = ['eu-west-1']
raw.targets = {
  'shell-box': { access: ['shell'], tagValue: 'shell-box' },
  'db-tunnel': { access: ['port-forward'], ports: [5432, 6432] },
  'ssh-box': { access: ['ssh'], osUser: 'ec2-user' },
  'prod-db': { access: ['shell', 'port-forward', 'ssh'], ports: [5432], osUser: 'ec2-user' },
}
const config = configFrom(raw)
const target = (name: string): TargetConfig => {
  const found = config.targets.get(name)
  if (!found) throw new Error(`no target ${name}`)
  return found
}

const ACTIVATED = new Date('2026-11-23T10:00:00Z')
const EXPIRES = addSeconds(ACTIVATED, 1800)
const INSIDE = isoSeconds(addSeconds(EXPIRES, -1))
const AT_EXPIRY = isoSeconds(EXPIRES)
const AFTER_EXPIRY = isoSeconds(addSeconds(EXPIRES, 1))

const INSTANCE = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0'
const document = (name: string, region = 'eu-west-1') => `arn:aws:ssm:${region}:111122223333:document/${name}`
const USER_ID = 'AROAEXAMPLEROLE00001:alice'

const policyFor = (name: string): PolicyDocument => buildGrantPolicy(config, target(name), EXPIRES)

/** StartSession on an instance, as Session Manager authorises it. */
const startOn = (resource: string, tags: Record<string, string>, time = INSIDE) => ({
  action: 'ssm:StartSession',
  resource,
  context: {
    ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`ssm:resourceTag/${key}`, value])),
    'ssm:SessionDocumentAccessCheck': 'true',
    'aws:CurrentTime': time,
  },
})
const startWith = (documentArn: string, time = INSIDE) => ({
  action: 'ssm:StartSession',
  resource: documentArn,
  context: { 'aws:CurrentTime': time },
})

describe.each(['shell-box', 'db-tunnel', 'ssh-box', 'prod-db'])('the %s policy', (name) => {
  const policy = policyFor(name)
  const tagValue = target(name).tagValue

  it('allows a session on an instance with the target’s tag, inside the window', async () => {
    expect(await simulate(policy, startOn(INSTANCE, { 'access-target': tagValue }))).toBe('Allowed')
  })

  it.each([
    ['another tag value', { 'access-target': `${tagValue}-other` }, INSIDE],
    ['the value under another tag key', { team: tagValue }, INSIDE],
    ['no tag at all', {}, INSIDE],
    ['the tag, at the expiry instant', { 'access-target': tagValue }, AT_EXPIRY],
    ['the tag, one second after expiry', { 'access-target': tagValue }, AFTER_EXPIRY],
  ])('denies a session on an instance with %s', async (_, tags, time) => {
    expect(await simulate(policy, startOn(INSTANCE, tags, time))).toBe('ImplicitlyDenied')
  })

  it.each([
    ['another region', 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0'],
    ['another account', 'arn:aws:ec2:eu-west-1:444455556666:instance/i-0123456789abcdef0'],
  ])('denies a tagged instance in %s', async (_, resource) => {
    expect(await simulate(policy, startOn(resource, { 'access-target': tagValue }))).toBe('ImplicitlyDenied')
  })

  it.each([
    'AWS-StartInteractiveCommand',
    'AWS-StartNonInteractiveCommand',
    'AWS-StartPortForwardingSession',
    'AWS-StartPortForwardingSessionToRemoteHost',
    'keyless-other-target-port-5432',
    `keyless-${name}-port-22`,
  ])('denies the session document %s', async (documentName) => {
    expect(await simulate(policy, startWith(document(documentName)))).toBe('ImplicitlyDenied')
  })

  it.each([
    ['ssm:SendCommand', INSTANCE],
    ['ssm:SendCommand', document('AWS-RunShellScript')],
    [
      'ssm:StartAutomationExecution',
      'arn:aws:ssm:eu-west-1:111122223333:automation-definition/AWS-RestartEC2Instance:$DEFAULT',
    ],
    ['ssm:GetParameter', 'arn:aws:ssm:eu-west-1:111122223333:parameter/db-password'],
    ['ec2:StopInstances', INSTANCE],
  ])('denies %s on %s', async (action, resource) => {
    const context = {
      'ssm:resourceTag/access-target': tagValue,
      'aws:ResourceTag/access-target': tagValue,
      'aws:CurrentTime': INSIDE,
    }
    expect(await simulate(policy, { action, resource, context })).toBe('ImplicitlyDenied')
  })

  it('lets the principal end or resume only its own sessions, only inside the window', async () => {
    const own = { 'ssm:resourceTag/aws:ssmmessages:session-id': USER_ID, 'aws:userid': USER_ID }
    const session = 'arn:aws:ssm:eu-west-1:111122223333:session/alice-0a1b2c3d4e5f60718'
    for (const action of ['ssm:TerminateSession', 'ssm:ResumeSession']) {
      expect(
        await simulate(policy, { action, resource: session, context: { ...own, 'aws:CurrentTime': INSIDE } }),
      ).toBe('Allowed')
      expect(
        await simulate(policy, {
          action,
          resource: session,
          context: {
            ...own,
            'ssm:resourceTag/aws:ssmmessages:session-id': 'AROAEXAMPLEROLE00002:bob',
            'aws:CurrentTime': INSIDE,
          },
        }),
      ).toBe('ImplicitlyDenied')
      expect(
        await simulate(policy, {
          action,
          resource: session,
          context: { ...own, 'aws:CurrentTime': AFTER_EXPIRY },
        }),
      ).toBe('ImplicitlyDenied')
    }
  })

  it('opens data channels only on the principal’s own sessions, until expiry', () => {
    // The simulator's action data predates session-scoped OpenDataChannel (it knows the action
    // only on "*"), so this statement is checked as written, in AWS's documented form.
    const statement = policy.Statement.find((candidate) =>
      [candidate.Action].flat().includes('ssmmessages:OpenDataChannel'),
    )
    // It shares the documents' statement (same condition; a document ARN never names a session).
    expect(statement?.Action).toEqual(['ssm:StartSession', 'ssmmessages:OpenDataChannel'])
    expect([statement?.Resource].flat().filter((resource) => resource?.includes(':session/'))).toEqual([
      'arn:aws:ssm:eu-west-1:111122223333:session/${aws:userid}-*',
    ])
    expect(statement?.Condition).toEqual({ DateLessThan: { 'aws:CurrentTime': AT_EXPIRY } })
  })

  it('carries the expiry on every statement', () => {
    for (const statement of policy.Statement) {
      expect(statement.Condition.DateLessThan).toEqual({ 'aws:CurrentTime': AT_EXPIRY })
    }
  })

  it('allows nothing on a wildcard resource and no wildcard action', () => {
    for (const statement of policy.Statement) {
      expect([statement.Resource].flat()).not.toContain('*')
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*')
    }
  })
})

describe('shell access', () => {
  const policy = policyFor('shell-box')

  it('allows the account’s shell document, where logging preferences live, until expiry', async () => {
    expect(await simulate(policy, startWith(document('SSM-SessionManagerRunShell')))).toBe('Allowed')
    expect(await simulate(policy, startWith(document('SSM-SessionManagerRunShell'), AFTER_EXPIRY))).toBe(
      'ImplicitlyDenied',
    )
    // Documents are granted in every region; the instance, whose ARN is region-bound, is what
    // keeps a session in the configured regions (test/policy/policy-compaction.test.ts).
    expect(await simulate(policy, startWith(document('SSM-SessionManagerRunShell', 'us-east-1')))).toBe(
      'Allowed',
    )
    expect(
      await simulate(
        policy,
        startOn('arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0', {
          'access-target': 'shell-box',
        }),
      ),
    ).toBe('ImplicitlyDenied')
  })

  it('pushes no SSH key', async () => {
    const request = {
      action: 'ec2-instance-connect:SendSSHPublicKey',
      resource: INSTANCE,
      context: { 'aws:ResourceTag/access-target': 'shell-box', 'aws:CurrentTime': INSIDE },
    }
    expect(await simulate(policy, request)).toBe('ImplicitlyDenied')
  })
})

describe('port-forward access', () => {
  const policy = policyFor('db-tunnel')

  it('allows exactly the per-port documents the stack creates', async () => {
    expect(await simulate(policy, startWith(document('keyless-db-tunnel-port-5432')))).toBe('Allowed')
    expect(await simulate(policy, startWith(document('keyless-db-tunnel-port-6432')))).toBe('Allowed')
    expect(await simulate(policy, startWith(document('keyless-db-tunnel-port-5432'), AFTER_EXPIRY))).toBe(
      'ImplicitlyDenied',
    )
  })

  it('gives no shell: the default shell document is not granted and the document check is enforced', async () => {
    expect(await simulate(policy, startWith(document('SSM-SessionManagerRunShell')))).toBe('ImplicitlyDenied')
    expect(policy.Statement[0]?.Condition.BoolIfExists).toEqual({ 'ssm:SessionDocumentAccessCheck': 'true' })
  })
})

describe('ssh access', () => {
  const policy = policyFor('ssh-box')
  const sshStatement = policy.Statement.find(
    (statement) => statement.Action === 'ec2-instance-connect:SendSSHPublicKey',
  )
  // The simulator does not know ec2:osuser: that condition is asserted as written, then removed
  // so the rest of the statement can be simulated.
  const simulable = withoutConditionKey(policy, 'ec2:osuser')
  const push = (tags: Record<string, string>, time = INSIDE) => ({
    action: 'ec2-instance-connect:SendSSHPublicKey',
    resource: INSTANCE,
    context: {
      ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value])),
      'aws:CurrentTime': time,
    },
  })

  it('pushes a key for the configured OS user only', () => {
    expect(sshStatement?.Condition.StringEquals).toEqual({
      'aws:ResourceTag/access-target': 'ssh-box',
      'ec2:osuser': 'ec2-user',
    })
    // StringEquals is exact and case-sensitive: another OS user, or a pattern, cannot match.
    for (const other of ['root', 'EC2-USER', 'ec2-*', 'ubuntu']) {
      expect(sshStatement?.Condition.StringEquals?.['ec2:osuser']).not.toBe(other)
    }
    expect(Object.keys(sshStatement?.Condition ?? {})).toEqual(['StringEquals', 'DateLessThan'])
  })

  it('pushes a key to a tagged instance inside the window, and nowhere else', async () => {
    expect(await simulate(simulable, push({ 'access-target': 'ssh-box' }))).toBe('Allowed')
    expect(await simulate(simulable, push({ 'access-target': 'other' }))).toBe('ImplicitlyDenied')
    expect(await simulate(simulable, push({}))).toBe('ImplicitlyDenied')
    expect(await simulate(simulable, push({ 'access-target': 'ssh-box' }, AFTER_EXPIRY))).toBe(
      'ImplicitlyDenied',
    )
  })

  it('carries SSH over Session Manager with the AWS-owned document only', async () => {
    // The simulator refuses AWS-owned document ARNs (empty account), so the grant of
    // AWS-StartSSHSession is checked as written, and every account document is simulated.
    expect(policy.Statement[1]?.Resource).toEqual([
      `arn:aws:ssm:*::document/${SSH_DOCUMENT}`,
      'arn:aws:ssm:eu-west-1:111122223333:session/${aws:userid}-*',
    ])
    expect(await simulate(policy, startWith(document('SSM-SessionManagerRunShell')))).toBe('ImplicitlyDenied')
    expect(await simulate(policy, startWith(document(SSH_DOCUMENT)))).toBe('ImplicitlyDenied')
  })
})

describe('a target with every access kind', () => {
  it('grants the union of the kinds and nothing more', () => {
    const explained = explainGrantPolicy(config, target('prod-db'), EXPIRES)
    expect(explained.map(({ explanation }) => explanation)).toEqual([
      'Start a session on instances tagged access-target=prod-db in eu-west-1, naming a document (no fallback to a shell the grant does not give).',
      "Use the granted session documents (SSM-SessionManagerRunShell, keyless-prod-db-port-5432, AWS-StartSSHSession), and open data channels on the principal's own sessions.",
      'Send an SSH public key (EC2 Instance Connect) for OS user ec2-user to the same instances.',
      "End or resume the principal's own sessions.",
    ])
    const policy = policyFor('prod-db')
    expect(policy.Statement).toEqual(explained.map(({ statement }) => statement))
    expect(policy.Statement[1]?.Resource).toEqual([
      document('SSM-SessionManagerRunShell', '*'),
      document('keyless-prod-db-port-5432', '*'),
      `arn:aws:ssm:*::document/${SSH_DOCUMENT}`,
      'arn:aws:ssm:eu-west-1:111122223333:session/${aws:userid}-*',
    ])
    // No Sids: a user's inline policies share 2,048 characters.
    expect(JSON.stringify(policy)).not.toContain('"Sid"')
  })
})

describe('one policy over several targets', () => {
  const both = policyForGrant(
    config,
    {
      target: 'shell-box',
      targets: ['shell-box', 'db-tunnel'],
      principal: 'arn:aws:iam::111122223333:role/alice-ops',
    },
    isoSeconds(EXPIRES),
  ).policy

  it("allows each target's tagged instances and documents, inside the window, and nothing else", async () => {
    for (const name of ['shell-box', 'db-tunnel']) {
      expect(await simulate(both, startOn(INSTANCE, { 'access-target': target(name).tagValue })), name).toBe(
        'Allowed',
      )
      expect(
        await simulate(both, startOn(INSTANCE, { 'access-target': target(name).tagValue }, AT_EXPIRY)),
        name,
      ).toBe('ImplicitlyDenied')
    }
    expect(await simulate(both, startOn(INSTANCE, { 'access-target': 'prod-db' }))).toBe('ImplicitlyDenied')
    expect(await simulate(both, startWith(document('SSM-SessionManagerRunShell')))).toBe('Allowed')
    expect(await simulate(both, startWith(document('keyless-db-tunnel-port-5432')))).toBe('Allowed')
    expect(await simulate(both, startWith(document('keyless-prod-db-port-5432')))).toBe('ImplicitlyDenied')
  })

  it('writes a statement two targets share once', () => {
    const texts = both.Statement.map((statement) => JSON.stringify(statement))
    expect(new Set(texts).size).toBe(texts.length)
  })
})
