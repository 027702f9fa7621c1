import { describe, expect, it } from 'vitest'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { AccessBackendError } from '../../shared/core/access/backend.ts'
import { grantRoleStep } from '../../shared/core/access/grant-role-steps.ts'
import { placeGrant } from '../../shared/core/policy/placement.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'

/**
 * The grant role before a grant goes on it: created on first use with the boundary, the
 * person's trust and their tag, its trust replaced when the config changed who it belongs to,
 * its tag set when missing, and never written when its boundary is not the keyless grant boundary.
 */

const configObject = specConfigObject()
configObject.organization = { id: 'o-a1b2c3d4e5', deployTo: ['ou-ab12-prodxxxx'] }
configObject.accounts = { prod: { id: '444455556666' } }
configObject.identityCenter = { permissionSet: 'KeylessAccess' }
configObject.targets['prod-db'].account = 'prod'
configObject.people.U0CAROL = { identityCenterUser: 'carol@example.com', manager: 'U0BOB' }
const config = configFrom(configObject)

function wantedFor(slackUserId: string) {
  const person = config.people.get(slackUserId)
  const target = config.targets.get('prod-db')
  if (!person || !target) throw new Error('test config lost a person or target')
  const placement = placeGrant(config, person, target)
  if (!placement.grantRole) throw new Error(`${slackUserId} needs no grant role`)
  return { roleArn: placement.principal, ...placement.grantRole }
}

describe('the grant role step', () => {
  const carol = wantedFor('U0CAROL')

  it("creates the role on first use, bounded, trusting the person, with an hour's sessions at most", () => {
    expect(grantRoleStep(carol, { exists: false })).toEqual({
      kind: 'create',
      boundaryArn: 'arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary',
      trust: carol.trust,
      tags: { 'keyless:person': 'U0CAROL' },
      maxSessionSeconds: 3600,
    })
  })

  it('leaves a role that is as keyless made it (however IAM orders its keys)', () => {
    const reversed = (object: object) => Object.fromEntries(Object.entries(object).reverse())
    const reordered = reversed({ ...carol.trust, Statement: carol.trust.Statement.map(reversed) })
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(carol.trust))
    const asMade = { exists: true, boundaryArn: carol.boundary, trust: reordered, tags: carol.tags } as const
    expect(grantRoleStep(carol, asMade)).toEqual({ kind: 'ready' })
    // Tags someone else added are theirs to keep.
    expect(grantRoleStep(carol, { ...asMade, tags: { ...carol.tags, team: 'dba' } })).toEqual({
      kind: 'ready',
    })
  })

  it("replaces the trust when the config says the role is someone else's now", () => {
    const alicesOldTrust = wantedFor('U0ALICE').trust
    expect(
      grantRoleStep(carol, {
        exists: true,
        boundaryArn: carol.boundary,
        trust: alicesOldTrust,
        tags: carol.tags,
      }),
    ).toEqual({ kind: 'update', trust: carol.trust })
  })

  it('tags a role made before keyless tagged it, or whose tag was changed, and nothing more', () => {
    const found = { exists: true, boundaryArn: carol.boundary, trust: carol.trust } as const
    expect(grantRoleStep(carol, { ...found, tags: {} })).toEqual({ kind: 'update', tags: carol.tags })
    expect(grantRoleStep(carol, { ...found, tags: { 'keyless:person': 'U0ALICE' } })).toEqual({
      kind: 'update',
      tags: carol.tags,
    })
    const alicesOldTrust = wantedFor('U0ALICE').trust
    expect(grantRoleStep(carol, { ...found, trust: alicesOldTrust, tags: {} })).toEqual({
      kind: 'update',
      trust: carol.trust,
      tags: carol.tags,
    })
  })

  it('refuses a role whose boundary was lifted or swapped, saying what to do', () => {
    const lifted = grantRoleStep(carol, {
      exists: true,
      boundaryArn: undefined,
      trust: carol.trust,
      tags: {},
    })
    expect(lifted).toEqual({
      kind: 'refuse',
      reason:
        'arn:aws:iam::444455556666:role/keyless/grant/U0CAROL has no permissions boundary, not arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary: it was changed outside keyless, which will not put a grant on it; restore the boundary, or delete the role and keyless creates it again',
    })
    const swapped = grantRoleStep(carol, {
      exists: true,
      boundaryArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      trust: carol.trust,
      tags: carol.tags,
    })
    expect(swapped.kind).toBe('refuse')
    expect(swapped).toMatchObject({
      reason: expect.stringContaining('is bounded by arn:aws:iam::aws:policy/AdministratorAccess'),
    })
  })
})

describe('the local stand-in', () => {
  it('keeps grant roles as IAM would: created once, trust replaced, tag restored, a lifted boundary refused', async () => {
    const backend = new LocalAccessBackend()
    const carol = wantedFor('U0CAROL')
    await backend.prepareGrantRole(carol)
    await backend.prepareGrantRole(carol)
    expect(backend.grantRoles.get(carol.roleArn)).toEqual({
      boundaryArn: carol.boundary,
      trust: carol.trust,
      tags: carol.tags,
    })
    const role = backend.grantRoles.get(carol.roleArn)
    if (role) {
      role.trust = wantedFor('U0ALICE').trust
      role.tags = { team: 'dba' }
    }
    await backend.prepareGrantRole(carol)
    expect(backend.grantRoles.get(carol.roleArn)).toMatchObject({
      trust: carol.trust,
      tags: { team: 'dba', 'keyless:person': 'U0CAROL' },
    })
    if (role) role.boundaryArn = undefined
    await expect(backend.prepareGrantRole(carol)).rejects.toBeInstanceOf(AccessBackendError)
  })
})
