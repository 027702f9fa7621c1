import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { AccessBackendError, grantPolicyName } from '../../shared/core/access/backend.ts'
import { evaluate, evaluationContext } from '../../shared/core/alerts/evaluate.ts'
import { type IamPrincipal, parsePrincipalArn } from '../../shared/core/aws/arn.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { Grant } from '../../shared/core/grants/grant.ts'
import { doctor } from '../../shared/core/grants/operations.ts'
import { reconcile } from '../../shared/core/grants/reconciler.ts'
import { attachAccess, removeAccess, type TaskDeps } from '../../shared/core/grants/tasks.ts'
import type { PolicyDocument } from '../../shared/core/policy/grant-policy.ts'
import { grantBoundaryArn, grantRoleArn, grantRoleTrust } from '../../shared/core/policy/grant-role.ts'
import { access, startSession } from '../kit/cloudtrail.ts'
import { configFrom, MEMBER_ACCOUNT, organizationConfigObject } from '../kit/config.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { pendingGrant } from '../kit/grants.ts'
import { RecordingNotifier } from '../kit/notifier.ts'

/**
 * Access on a grant role, through the real request, the attach task, the embedded DynamoDB and
 * the local IAM stand-in.
 */

const MEMBER = MEMBER_ACCOUNT
const config = configFrom(organizationConfigObject())
const CAROLS_ROLE = grantRoleArn('aws', MEMBER, 'U0CAROL')
/** The trust keyless gives Carol's grant role: her own sessions of the KeylessAccess permission set. */
const CAROLS_TRUST = grantRoleTrust('aws', MEMBER, {
  kind: 'identity-center',
  permissionSet: 'KeylessAccess',
  user: 'carol@example.com',
})
const carolsRole = parsePrincipalArn(CAROLS_ROLE) as IamPrincipal
const ALICE = 'arn:aws:iam::111122223333:role/alice-ops'
const EMPTY_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [] }

let db: EmbeddedDynamo
let backend: LocalAccessBackend
let deps: TaskDeps

beforeAll(async () => {
  db = await startEmbeddedDynamo('grant-roles')
})
afterAll(async () => {
  await db?.close()
})

function freshDeps(): TaskDeps {
  backend = new LocalAccessBackend([
    {
      account: MEMBER,
      instanceId: 'i-0batch000000000001',
      region: 'eu-west-1',
      tags: { 'access-target': 'batch' },
    },
  ])
  deps = {
    config,
    store: db.store,
    backend,
    notifier: new RecordingNotifier(),
    clock: systemClock,
    warn: () => {},
    workflow: { resume: async () => {}, reject: async () => {} },
  }
  return deps
}

/**
 * Carol's approved (break-glass) grant on the member target `batch`, which the request places on
 * her grant role there; `principal` re-aims it, as a config changed since would.
 */
async function carolsGrant(principal?: string): Promise<Grant> {
  const requested = pendingGrant(
    config,
    { breakGlass: true, requester: 'U0CAROL', target: 'batch' },
    new Date(),
  )
  expect(requested.principal).toBe(CAROLS_ROLE)
  const grant: Grant = principal ? { ...requested, principal } : requested
  await db.store.create(grant)
  return grant
}

describe('attaching access on a grant role', () => {
  it("creates Carol's grant role on first use, then puts the grant's policy on it, for the member's instances", async () => {
    freshDeps()
    const grant = await carolsGrant()
    await attachAccess(deps, { grantId: grant.id })
    expect(backend.grantRoles.get(CAROLS_ROLE)).toEqual({
      boundaryArn: grantBoundaryArn('aws', MEMBER),
      trust: CAROLS_TRUST,
      tags: { 'keyless:person': 'U0CAROL' },
    })
    const policy = JSON.stringify(backend.policyOf(CAROLS_ROLE, grantPolicyName(grant.id)))
    expect(policy).toContain(`arn:aws:ec2:eu-west-1:${MEMBER}:instance/*`)
    expect(policy).not.toContain('111122223333')
    expect((await db.store.get(grant.id))?.status).toBe('ACTIVE')
  })

  it('grants on a role it could not tag, and says so in the log: the tag never holds access up', async () => {
    const warnings: string[] = []
    deps = {
      ...freshDeps(),
      warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`),
    }
    const prepare = backend.prepareGrantRole.bind(backend)
    backend.prepareGrantRole = async (wanted) => ({
      ...(await prepare(wanted)),
      untagged: 'AccessDenied on iam:TagRole',
    })
    const grant = await carolsGrant()
    await attachAccess(deps, { grantId: grant.id })
    expect((await db.store.get(grant.id))?.status).toBe('ACTIVE')
    expect(backend.policyOf(CAROLS_ROLE, grantPolicyName(grant.id))).toBeDefined()
    expect(warnings).toEqual([
      'a grant role is not tagged with its person; the grant goes on {"reason":"AccessDenied on iam:TagRole"}',
    ])
  })

  it('attaches nothing, and leaves the grant approved, when the role’s boundary was lifted', async () => {
    freshDeps()
    backend.grantRoles.set(CAROLS_ROLE, {
      boundaryArn: undefined,
      trust: CAROLS_TRUST,
      tags: { 'keyless:person': 'U0CAROL' },
    })
    const grant = await carolsGrant()
    await expect(attachAccess(deps, { grantId: grant.id })).rejects.toBeInstanceOf(AccessBackendError)
    expect(backend.policies.get(CAROLS_ROLE)).toBeUndefined()
    expect((await db.store.get(grant.id))?.status).toBe('APPROVED')
  })

  it('writes no grant role for a person the config no longer names', async () => {
    freshDeps()
    const grant = await carolsGrant()
    const withoutCarol = organizationConfigObject()
    delete withoutCarol.people.U0CAROL
    deps = { ...deps, config: configFrom(withoutCarol) }
    await expect(attachAccess(deps, { grantId: grant.id })).rejects.toThrow(
      `${grant.id} is for U0CAROL, who is no longer in the config: their grant role is not written`,
    )
    expect(backend.grantRoles.size).toBe(0)
    expect(backend.policies.size).toBe(0)
  })

  it('refuses a grant whose principal is not where the config now places its person', async () => {
    freshDeps()
    const grant = await carolsGrant(grantRoleArn('aws', MEMBER, 'U0MALLORY'))
    await expect(attachAccess(deps, { grantId: grant.id })).rejects.toThrow(
      `the config now places U0CAROL's grants on ${CAROLS_ROLE}`,
    )
    expect(backend.grantRoles.size).toBe(0)
    expect(backend.policies.size).toBe(0)
  })

  it('tells Carol how to reach her role, and a revoke takes the policy off it and ends her sessions there', async () => {
    freshDeps()
    const grant = await carolsGrant()
    await attachAccess(deps, { grantId: grant.id })
    const notices = (deps.notifier as RecordingNotifier).notices
    const active = notices.find((notice) => notice.kind === 'access-active')
    expect(JSON.stringify(active)).toContain(`role_arn = ${CAROLS_ROLE}`)
    const session = backend.openSession(CAROLS_ROLE, 'i-0batch000000000001')
    expect(session.account).toBe(MEMBER)
    const activeGrant = (await db.store.get(grant.id)) as Grant
    expect(await removeAccess(deps, activeGrant)).toBe(1)
    expect(backend.policyOf(CAROLS_ROLE, grantPolicyName(grant.id))).toBeUndefined()
    expect(backend.sessions.find((open) => open.sessionId === session.sessionId)?.state).toBe('Terminated')
  })
})

describe('sweeping grant roles', () => {
  it('removes a keyless policy no live grant is behind from a grant role in a member account, and leaves the live one', async () => {
    freshDeps()
    const grant = await carolsGrant()
    await attachAccess(deps, { grantId: grant.id })
    await backend.attachPolicy(carolsRole, 'keyless-g-unknown0000', EMPTY_POLICY)
    const { workflow: _waits, ...reconcileDeps } = deps
    expect(await reconcile(reconcileDeps)).toEqual([
      expect.objectContaining({
        what: 'orphan-policy-removed',
        principal: CAROLS_ROLE,
        policyName: 'keyless-g-unknown0000',
      }),
    ])
    expect(await backend.listGrantPolicies(carolsRole)).toEqual([grantPolicyName(grant.id)])
  })

  it('reads every other principal when one cannot be read, and reports that one', async () => {
    freshDeps()
    await backend.attachPolicy(carolsRole, 'keyless-g-unknown0000', EMPTY_POLICY)
    const { workflow: _waits, ...reconcileDeps } = deps
    // The stand-in itself, but Alice's principal cannot be read.
    const refusingAlice = new Proxy(backend, {
      get: (local, key) =>
        key === 'listGrantPolicies'
          ? async (principal: IamPrincipal) => {
              if (principal.arn === ALICE) throw new AccessBackendError('AccessDenied on ListRolePolicies')
              return local.listGrantPolicies(principal)
            }
          : bound(Reflect.get(local, key), local),
    })
    const findings = await reconcile({ ...reconcileDeps, backend: refusingAlice })
    expect(findings).toEqual([
      {
        what: 'repair-failed',
        principal: ALICE,
        detail:
          'orphan policy sweep could not read their policies: AccessBackendFailed: AccessDenied on ListRolePolicies',
      },
      expect.objectContaining({ what: 'orphan-policy-removed', principal: CAROLS_ROLE }),
    ])
  })

  it('the doctor lists the grant roles the config places, and says which accounts it did not read', async () => {
    freshDeps()
    const grant = await carolsGrant()
    await attachAccess(deps, { grantId: grant.id })
    const { workflow: _waits, ...doctorDeps } = deps
    const everywhere = await doctor(doctorDeps)
    expect(everywhere.grantRoles).toContainEqual({
      roleArn: CAROLS_ROLE,
      account: MEMBER,
      person: 'U0CAROL',
      policies: [grantPolicyName(grant.id)],
    })
    expect(everywhere.accountsNotChecked).toEqual([])
    const fromHome = await doctor({ ...doctorDeps, accounts: 'home' })
    expect(fromHome.grantRoles.find((role) => role.roleArn === CAROLS_ROLE)?.policies).toBeNull()
    expect(fromHome.accountsNotChecked).toEqual([MEMBER])
    expect(fromHome.problems).toBe(0)
  })
})

/** A method read through a proxy still runs on the object itself (its private fields need it). */
const bound = (value: unknown, self: object): unknown =>
  typeof value === 'function' ? value.bind(self) : value

describe('one request over targets in two accounts', () => {
  /** Alice's break-glass grant on prod-db (home: her own role) and batch (member: her grant role there). */
  async function alicesTwoAccountGrant(): Promise<Grant> {
    const requested = pendingGrant(
      config,
      { breakGlass: true, requester: 'U0ALICE', target: 'prod-db', targets: ['prod-db', 'batch'] },
      new Date(),
    )
    await db.store.create(requested)
    return requested
  }
  const ALICES_ROLE = parsePrincipalArn(ALICE) as IamPrincipal
  const alicesGrantRole = parsePrincipalArn(grantRoleArn('aws', MEMBER, 'U0ALICE')) as IamPrincipal

  it('attaches one policy per account, each over its own targets, and one revoke removes both', async () => {
    freshDeps()
    const grant = await alicesTwoAccountGrant()
    await attachAccess(deps, { grantId: grant.id })
    const home = JSON.stringify(backend.policyOf(ALICE, grantPolicyName(grant.id)))
    const member = JSON.stringify(backend.policyOf(alicesGrantRole.arn, grantPolicyName(grant.id)))
    expect(home).toContain('"ssm:resourceTag/access-target":"prod-db"')
    expect(home).not.toContain('batch')
    expect(member).toContain('"ssm:resourceTag/access-target":"batch"')
    expect(member).toContain(`arn:aws:ec2:eu-west-1:${MEMBER}:instance/*`)
    const active = (await db.store.get(grant.id)) as Grant
    expect(active.status).toBe('ACTIVE')
    // An access through her grant role in the member account is covered by it (found by its requester).
    backend.instances.push({
      account: MEMBER,
      instanceId: 'i-0bbbbbbbbbbbbbbb9',
      region: 'eu-west-1',
      tags: { 'access-target': 'batch' },
    })
    const verdict = await evaluate(
      access(
        startSession({
          eventID: 'f2000000-0000-4000-8000-000000000001',
          eventTime: new Date().toISOString(),
          recipientAccountId: MEMBER,
          requestParameters: { target: 'i-0bbbbbbbbbbbbbbb9' },
          userIdentity: {
            type: 'AssumedRole',
            arn: `arn:aws:sts::${MEMBER}:assumed-role/U0ALICE/alice`,
            accountId: MEMBER,
            sessionContext: {
              sessionIssuer: { type: 'Role', arn: alicesGrantRole.arn },
              attributes: { mfaAuthenticated: 'true' },
            },
          },
        }),
      ),
      evaluationContext(config, backend, db.store),
    )
    // Covered: a break-glass grant's access is BREAK_GLASS (for review), never NO_ACTIVE_GRANT.
    expect(verdict).toMatchObject({ target: 'batch', grantId: grant.id })
    expect(verdict.findings.map((finding) => finding.rule)).toEqual(['BREAK_GLASS'])
    await removeAccess(deps, active)
    expect(backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(backend.policyOf(alicesGrantRole.arn, grantPolicyName(grant.id))).toBeUndefined()
  })

  it('all or nothing: when the second account refuses, the first account’s policy is taken off and the grant stays approved', async () => {
    freshDeps()
    const grant = await alicesTwoAccountGrant()
    const refusingMember = new Proxy(backend, {
      get: (local, key) =>
        key === 'attachPolicy'
          ? async (principal: IamPrincipal, name: string, policy: PolicyDocument) => {
              if (principal.account === MEMBER)
                throw new AccessBackendError('AccessDenied on PutRolePolicy (test)')
              return local.attachPolicy(principal, name, policy)
            }
          : bound(Reflect.get(local, key), local),
    })
    await expect(attachAccess({ ...deps, backend: refusingMember }, { grantId: grant.id })).rejects.toThrow(
      'AccessDenied on PutRolePolicy (test)',
    )
    expect(backend.policyOf(ALICES_ROLE.arn, grantPolicyName(grant.id))).toBeUndefined()
    expect(backend.policyOf(alicesGrantRole.arn, grantPolicyName(grant.id))).toBeUndefined()
    expect((await db.store.get(grant.id))?.status).toBe('APPROVED')
  })
})
