import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { addSeconds, isoSeconds } from '../../shared/core/clock.ts'
import { buildGrantPolicy, type PolicyDocument, policySize } from '../../shared/core/policy/grant-policy.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { type Decision, type SimulatedRequest, simulate, withoutConditionKey } from '../kit/iam.ts'

/**
 * Proof that making grant policies smaller did not change what they allow. The policies as
 * they were before (no merging, a Sid on every statement, documents named per region) are kept
 * in test/golden/policies-before-compaction.json; every request of the grid below gets the same
 * decision from the IAM simulator before and after.
 *
 * StartSession is authorised twice, on the instance and on the document, in the instance's
 * region: a session is allowed only if both are. Documents are now named in every region, so a
 * document request alone may differ; what is compared for StartSession is the session's
 * decision, for every instance region, tag, document and time. (What no statement names, such
 * as SendCommand or GetParameter, is refused in test/policy/policy-meaning.test.ts.)
 */

const ACTIVATED = new Date('2026-11-23T10:00:00Z')
const EXPIRES = addSeconds(ACTIVATED, 1800)
const TIMES = { inside: isoSeconds(addSeconds(EXPIRES, -1)), after: isoSeconds(EXPIRES) }
const ACCOUNT = '111122223333'
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'] // the last is never configured
const OWN_ID = 'AROAEXAMPLEROLE00001:alice'
const DOCUMENTS = [
  'SSM-SessionManagerRunShell',
  'keyless-prod-db-port-5432',
  'keyless-db-tunnel-port-5432',
  'keyless-db-tunnel-port-6432',
  'keyless-db-tunnel-port-22',
  'AWS-StartInteractiveCommand',
  'AWS-StartPortForwardingSession',
]

const TARGETS = {
  'shell-box': { access: ['shell'], tagValue: 'shell-box' },
  'db-tunnel': { access: ['port-forward'], ports: [5432, 6432] },
  'ssh-box': { access: ['ssh'], osUser: 'ec2-user' },
  'prod-db': { access: ['shell', 'port-forward', 'ssh'], ports: [5432], osUser: 'ec2-user' },
}

const configFor = (regions: string[]) => {
  const raw = specConfigObject()
  raw.regions = regions
  raw.targets = TARGETS
  return configFrom(raw)
}

type Decide = (request: SimulatedRequest) => Promise<Decision>

/** The simulator does not know ec2:osuser: both versions are compared without it (it is asserted as written). */
const decider = (policy: PolicyDocument): Decide => {
  const simulable = withoutConditionKey(policy, 'ec2:osuser')
  return (request) => simulate(simulable, request)
}

/** Every request of the grid and its decision, StartSession as whole sessions. */
async function decisions(decide: Decide, tagValue: string): Promise<Record<string, Decision>> {
  const grid: Record<string, Decision> = {}
  const tagSets: Record<string, Record<string, string>> = {
    'its tag': { 'access-target': tagValue },
    'another value': { 'access-target': `${tagValue}-other` },
    untagged: {},
  }
  for (const [when, time] of Object.entries(TIMES)) {
    for (const region of REGIONS) {
      const instance = `arn:aws:ec2:${region}:${ACCOUNT}:instance/i-0123456789abcdef0`
      const documentDecisions = new Map<string, Decision>()
      for (const name of DOCUMENTS) {
        const resource = `arn:aws:ssm:${region}:${ACCOUNT}:document/${name}`
        documentDecisions.set(
          name,
          await decide({ action: 'ssm:StartSession', resource, context: { 'aws:CurrentTime': time } }),
        )
      }
      for (const [tags, values] of Object.entries(tagSets)) {
        const onInstance = await decide({
          action: 'ssm:StartSession',
          resource: instance,
          context: {
            ...Object.fromEntries(
              Object.entries(values).map(([key, value]) => [`ssm:resourceTag/${key}`, value]),
            ),
            'ssm:SessionDocumentAccessCheck': 'true',
            'aws:CurrentTime': time,
          },
        })
        for (const [name, onDocument] of documentDecisions) {
          grid[`session ${when} ${region} ${tags} ${name}`] =
            onInstance === 'Allowed' && onDocument === 'Allowed' ? 'Allowed' : 'ImplicitlyDenied'
        }
        grid[`ssh key ${when} ${region} ${tags}`] = await decide({
          action: 'ec2-instance-connect:SendSSHPublicKey',
          resource: instance,
          context: {
            ...Object.fromEntries(
              Object.entries(values).map(([key, value]) => [`aws:ResourceTag/${key}`, value]),
            ),
            'aws:CurrentTime': time,
          },
        })
      }
      for (const [owner, id] of Object.entries({ own: OWN_ID, "another's": 'AROAEXAMPLEROLE00002:bob' })) {
        for (const action of ['ssm:TerminateSession', 'ssm:ResumeSession']) {
          grid[`${action} ${when} ${region} ${owner}`] = await decide({
            action,
            resource: `arn:aws:ssm:${region}:${ACCOUNT}:session/alice-0a1b2c3d4e5f60718`,
            context: {
              'ssm:resourceTag/aws:ssmmessages:session-id': id,
              'aws:userid': OWN_ID,
              'aws:CurrentTime': time,
            },
          })
        }
      }
    }
  }
  return grid
}

/** The data channels and AWS-owned documents the simulator cannot evaluate, as written. */
function unsimulable(policy: PolicyDocument) {
  const resources = policy.Statement.flatMap((statement) =>
    [statement.Action]
      .flat()
      .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${resource}`)),
  )
  return {
    dataChannels: resources.filter(
      (entry) => entry.startsWith('ssmmessages:OpenDataChannel arn:aws:ssm:') && entry.includes(':session/'),
    ),
    awsOwnedDocuments: resources
      .filter((entry) => entry.startsWith('ssm:StartSession') && entry.includes('::document/'))
      .map((entry) => entry.split('/').at(-1)),
    osUsers: policy.Statement.map((statement) => statement.Condition.StringEquals?.['ec2:osuser']).filter(
      Boolean,
    ),
  }
}

const before: Record<string, PolicyDocument> = JSON.parse(
  await readFile(new URL('../golden/policies-before-compaction.json', import.meta.url), 'utf8'),
)

// All three kinds together (every statement there is), and port-forward alone (two ports), in
// two regions; the grid's third region, never configured, is what one configured region would add.
describe.concurrent.each([
  [
    ['eu-west-1', 'us-east-1'],
    ['prod-db', 'db-tunnel'],
  ],
])('in regions %j', (regions, names) => {
  const config = configFor(regions)
  it.each(names)('the %s policy decides every request of the grid as before', async (name) => {
    const target = config.targets.get(name)
    if (!target) throw new Error(`no target ${name}`)
    const old = before[`${name} in ${regions.length} region${regions.length > 1 ? 's' : ''}`]
    if (!old) throw new Error(`no policy before compaction for ${name}`)
    const now = buildGrantPolicy(config, target, EXPIRES)
    const [was, is] = await Promise.all([
      decisions(decider(old), target.tagValue),
      decisions(decider(now), target.tagValue),
    ])
    expect(is).toEqual(was)
    // Not a vacuous grid: each policy allows some of it and denies the rest.
    expect(Object.values(is)).toContain('Allowed')
    expect(Object.values(is)).toContain('ImplicitlyDenied')
    // Data channels on own sessions (the simulator knows OpenDataChannel only on "*") and the
    // AWS-owned SSH document (it refuses ARNs without an account) are compared as written: the
    // same sessions, and the same document, now in any region beside a region-bound instance.
    const [wasWritten, isWritten] = [unsimulable(old), unsimulable(now)]
    expect(isWritten.dataChannels.sort()).toEqual(wasWritten.dataChannels.sort())
    expect(new Set(isWritten.awsOwnedDocuments)).toEqual(new Set(wasWritten.awsOwnedDocuments))
    expect(isWritten.osUsers).toEqual(wasWritten.osUsers)
    expect(policySize(now)).toBeLessThan(policySize(old))
  })
})

describe('what compaction saved', () => {
  it('a target with all three kinds fits: one region ≤ 1,300 characters, two ≤ 1,520', () => {
    const sizeIn = (regions: string[]) => {
      const config = configFor(regions)
      const target = config.targets.get('prod-db')
      if (!target) throw new Error('no prod-db')
      return policySize(buildGrantPolicy(config, target, EXPIRES))
    }
    expect(sizeIn(['eu-west-1'])).toBeLessThanOrEqual(1300)
    expect(sizeIn(['eu-west-1', 'us-east-1'])).toBeLessThanOrEqual(1520)
  })

  it('a document in an unconfigured region is now granted alone, but no session there is', async () => {
    const config = configFor(['eu-west-1'])
    const target = config.targets.get('shell-box')
    if (!target) throw new Error('no shell-box')
    const decide = decider(buildGrantPolicy(config, target, EXPIRES))
    const shellIn = (region: string) => `arn:aws:ssm:${region}:${ACCOUNT}:document/SSM-SessionManagerRunShell`
    const context = { 'aws:CurrentTime': TIMES.inside }
    expect(await decide({ action: 'ssm:StartSession', resource: shellIn('ap-south-1'), context })).toBe(
      'Allowed',
    )
    const grid = await decisions(decide, target.tagValue)
    expect(grid['session inside eu-west-1 its tag SSM-SessionManagerRunShell']).toBe('Allowed')
    expect(grid['session inside ap-south-1 its tag SSM-SessionManagerRunShell']).toBe('ImplicitlyDenied')
  })
})
