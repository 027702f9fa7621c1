import { describe, expect, it } from 'vitest'
import {
  GRANT_BOUNDARY_ACTIONS,
  grantBoundaryArn,
  grantBoundaryPolicy,
  grantRoleArn,
  grantRoleTrust,
} from '../../shared/core/policy/grant-role.ts'
import { simulate } from '../kit/iam.ts'

/**
 * The grant role's documents, decided by the IAM simulator: its boundary caps whatever is written
 * on it to the grant actions, its trust admits the one person it belongs to, and a revoke's deny
 * cuts credentials issued before it.
 */

const MEMBER = '444455556666'
const ROLE = grantRoleArn('aws', MEMBER, 'U0ALICE')
const INSTANCE = `arn:aws:ec2:eu-west-1:${MEMBER}:instance/i-0123456789abcdef0`
const EVERYTHING = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }
/** The one statement the static permission set (or a person's own role) needs to reach grant roles. */
const MAY_ASSUME_GRANT_ROLES = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/keyless/grant/*' }],
}

describe('the grant role', () => {
  it('lives under /keyless/grant/, bounded by the keyless grant boundary of its account', () => {
    expect(ROLE).toBe('arn:aws:iam::444455556666:role/keyless/grant/U0ALICE')
    expect(grantBoundaryArn('aws', MEMBER)).toBe(
      'arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary',
    )
  })

  it('can do no more than a grant can, whatever is written on it: the boundary caps even *', async () => {
    const asRole = (action: string, resource = '*') =>
      simulate([EVERYTHING], { action, resource }, ROLE, { boundary: grantBoundaryPolicy() })
    expect(await asRole('ssm:StartSession', INSTANCE)).toBe('Allowed')
    expect(await asRole('ec2-instance-connect:SendSSHPublicKey', INSTANCE)).toBe('Allowed')
    for (const action of GRANT_BOUNDARY_ACTIONS) expect(await asRole(action), action).toBe('Allowed')
    for (const action of [
      'ssm:SendCommand',
      'ssm:StartAutomationExecution',
      'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
      'ec2-instance-connect:OpenTunnel',
      'iam:PutRolePolicy',
      'iam:DeleteRolePermissionsBoundary',
      'sts:AssumeRole',
      's3:GetObject',
    ]) {
      expect(await asRole(action), action).toBe('ImplicitlyDenied')
    }
  })

  it("trusts the Identity Center person's own sessions of the one permission set, and nobody else's", async () => {
    const trust = grantRoleTrust('aws', MEMBER, {
      kind: 'identity-center',
      permissionSet: 'KeylessAccess',
      user: 'alice@example.com',
    })
    const assume = (sessionRole: string, userid: string, account = MEMBER) =>
      simulate(
        [MAY_ASSUME_GRANT_ROLES],
        {
          action: 'sts:AssumeRole',
          resource: ROLE,
          context: { 'aws:PrincipalArn': sessionRole, 'aws:userid': userid },
        },
        `arn:aws:sts::${account}:assumed-role/${sessionRole.split('/').at(-1)}/${userid.split(':')[1]}`,
        { resourcePolicy: trust },
      )
    const keylessSet = `arn:aws:iam::${MEMBER}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_KeylessAccess_0123456789abcdef`
    expect(await assume(keylessSet, 'AROAEXAMPLE0000000001:alice@example.com')).toBe('Allowed')
    // Another person's session of the same set.
    expect(await assume(keylessSet, 'AROAEXAMPLE0000000001:bob@example.com')).toBe('ImplicitlyDenied')
    // Alice, but through another permission set.
    const adminSet = `arn:aws:iam::${MEMBER}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef`
    expect(await assume(adminSet, 'AROAEXAMPLE0000000002:alice@example.com')).toBe('ImplicitlyDenied')
    // Alice's session of the set in another account.
    const elsewhere = keylessSet.replace(MEMBER, '777788889999')
    expect(await assume(elsewhere, 'AROAEXAMPLE0000000003:alice@example.com', '777788889999')).toBe(
      'ImplicitlyDenied',
    )
  })

  it("trusts a person with a principal by that principal's exact ARN", async () => {
    const alice = 'arn:aws:iam::111122223333:role/alice-ops'
    const trust = grantRoleTrust('aws', MEMBER, { kind: 'principal', arn: alice })
    expect(trust.Statement).toEqual([
      { Effect: 'Allow', Principal: { AWS: alice }, Action: 'sts:AssumeRole' },
    ])
    const assume = (principal: string) =>
      simulate([MAY_ASSUME_GRANT_ROLES], { action: 'sts:AssumeRole', resource: ROLE }, principal, {
        resourcePolicy: trust,
      })
    expect(await assume('arn:aws:sts::111122223333:assumed-role/alice-ops/alice')).toBe('Allowed')
    expect(await assume('arn:aws:sts::111122223333:assumed-role/bob-ops/bob')).toBe('ImplicitlyDenied')
  })
})
