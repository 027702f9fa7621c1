import { describe, expect, it } from 'vitest'
import {
  AGENT_ROLE_NAME,
  agentRoleArn,
  agentRolePolicy,
  agentRoleTrust,
  BOUNDARY_REMOVALS,
  BOUNDED_GRANT_ROLE_WRITES,
} from '../../shared/core/policy/agent-role.ts'
import { grantBoundaryArn, grantRoleArn } from '../../shared/core/policy/grant-role.ts'
import { simulate } from '../kit/iam.ts'

/**
 * The agent role's documents, decided by the IAM simulator: in a member account keyless can write
 * only grant roles, only while they carry the keyless grant boundary, can never lift it, and only
 * keyless's own home roles — not a grant role — can assume the agent.
 */

const HOME = '111122223333'
const MEMBER = '444455556666'
const AGENT = agentRoleArn('aws', MEMBER)
const POLICY = agentRolePolicy('aws', MEMBER, ['eu-west-1', 'us-east-1'])
const GRANT_ROLE = grantRoleArn('aws', MEMBER, 'U0ALICE')
const BOUNDARY = grantBoundaryArn('aws', MEMBER)

const asAgent = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
  simulate([POLICY], { action, resource, context }, AGENT)

describe('the agent role', () => {
  it(`is role/keyless/${AGENT_ROLE_NAME}, beside the grant roles and not under them`, () => {
    expect(AGENT).toBe('arn:aws:iam::444455556666:role/keyless/keyless-agent')
  })

  it('writes a grant role only when it carries the keyless grant boundary', async () => {
    for (const action of BOUNDED_GRANT_ROLE_WRITES) {
      expect(await asAgent(action, GRANT_ROLE, { 'iam:PermissionsBoundary': BOUNDARY }), action).toBe(
        'Allowed',
      )
      // No boundary at all (created without one, or one lifted by someone else).
      expect(await asAgent(action, GRANT_ROLE), action).toBe('ImplicitlyDenied')
      // Another boundary, even one of the same name in another account.
      const elsewhere = grantBoundaryArn('aws', '777788889999')
      expect(await asAgent(action, GRANT_ROLE, { 'iam:PermissionsBoundary': elsewhere }), action).toBe(
        'ImplicitlyDenied',
      )
      const admin = 'arn:aws:iam::aws:policy/AdministratorAccess'
      expect(await asAgent(action, GRANT_ROLE, { 'iam:PermissionsBoundary': admin }), action).toBe(
        'ImplicitlyDenied',
      )
    }
  })

  it('tags a grant role with its person and with no other tag, on no other role', async () => {
    const personTag = { 'aws:TagKeys': ['keyless:person'] }
    expect(await asAgent('iam:TagRole', GRANT_ROLE, personTag)).toBe('Allowed')
    for (const keys of [['keyless:person', 'team'], ['team'], ['aws-cost-center']]) {
      expect(await asAgent('iam:TagRole', GRANT_ROLE, { 'aws:TagKeys': keys }), keys.join()).toBe(
        'ImplicitlyDenied',
      )
    }
    // A request that names no tag keys is not taken for one that names only the person's.
    expect(await asAgent('iam:TagRole', GRANT_ROLE)).toBe('ImplicitlyDenied')
    for (const role of [
      AGENT,
      `arn:aws:iam::${MEMBER}:role/Admin`,
      grantRoleArn('aws', '777788889999', 'U0ALICE'),
    ]) {
      expect(await asAgent('iam:TagRole', role, personTag), role).toBe('ImplicitlyDenied')
    }
    expect(await asAgent('iam:UntagRole', GRANT_ROLE, personTag)).toBe('ImplicitlyDenied')
  })

  it('touches no role but grant roles: not itself, not an admin role, not a role of another account', async () => {
    const withBoundary = { 'iam:PermissionsBoundary': BOUNDARY }
    for (const role of [
      AGENT,
      `arn:aws:iam::${MEMBER}:role/keyless/keyless-grant-worker`,
      `arn:aws:iam::${MEMBER}:role/Admin`,
      `arn:aws:iam::${MEMBER}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123`,
      grantRoleArn('aws', '777788889999', 'U0ALICE'),
    ]) {
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy']) {
        expect(await asAgent(action, role, withBoundary), `${action} on ${role}`).toBe('ImplicitlyDenied')
      }
    }
    expect(await asAgent('iam:UpdateAssumeRolePolicy', GRANT_ROLE)).toBe('Allowed')
    expect(await asAgent('iam:GetRolePolicy', GRANT_ROLE)).toBe('Allowed')
  })

  it('can never lift or swap a boundary, and writes no policies, users or keys', async () => {
    for (const action of BOUNDARY_REMOVALS) {
      expect(await asAgent(action, GRANT_ROLE, { 'iam:PermissionsBoundary': BOUNDARY }), action).toBe(
        'ExplicitlyDenied',
      )
    }
    for (const [action, resource] of [
      ['iam:AttachRolePolicy', GRANT_ROLE],
      ['iam:CreatePolicyVersion', BOUNDARY],
      ['iam:DeletePolicy', BOUNDARY],
      ['iam:DeleteRole', GRANT_ROLE],
      ['iam:CreateUser', `arn:aws:iam::${MEMBER}:user/keyless/mallory`],
      ['iam:CreateAccessKey', `arn:aws:iam::${MEMBER}:user/alice`],
      ['ssm:StartSession', `arn:aws:ec2:eu-west-1:${MEMBER}:instance/i-0123456789abcdef0`],
      ['ssm:SendCommand', `arn:aws:ec2:eu-west-1:${MEMBER}:instance/i-0123456789abcdef0`],
    ] as const) {
      expect(await asAgent(action, resource, { 'iam:PermissionsBoundary': BOUNDARY }), action).not.toBe(
        'Allowed',
      )
    }
  })

  it("ends sessions only in the account's configured regions", async () => {
    const session = (region: string, account = MEMBER) =>
      asAgent('ssm:TerminateSession', `arn:aws:ssm:${region}:${account}:session/alice-0123456789abcdef0`)
    expect(await session('eu-west-1')).toBe('Allowed')
    expect(await session('us-east-1')).toBe('Allowed')
    expect(await session('ap-south-1')).toBe('ImplicitlyDenied')
    expect(await session('eu-west-1', '777788889999')).toBe('ImplicitlyDenied')
  })

  it('writes the heartbeat parameter of its own account in any region, and no other parameter', async () => {
    const parameter = (region: string, name: string, account = MEMBER) =>
      `arn:aws:ssm:${region}:${account}:parameter${name}`
    expect(await asAgent('ssm:PutParameter', parameter('ap-southeast-2', '/keyless/heartbeat'))).toBe(
      'Allowed',
    )
    expect(await asAgent('ssm:PutParameter', parameter('eu-west-1', '/team/db-password'))).toBe(
      'ImplicitlyDenied',
    )
    expect(await asAgent('ssm:PutParameter', parameter('eu-west-1', '/keyless/heartbeat', HOME))).toBe(
      'ImplicitlyDenied',
    )
    expect(await asAgent('ssm:GetParameter', parameter('eu-west-1', '/keyless/heartbeat'))).toBe(
      'ImplicitlyDenied',
    )
  })

  it("is assumed by keyless's own home roles, and not by a grant role, another path or another account", async () => {
    const trust = agentRoleTrust('aws', HOME)
    const MAY_ASSUME_ANY = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
    }
    const assumeAs = (role: string) =>
      simulate(
        [MAY_ASSUME_ANY],
        { action: 'sts:AssumeRole', resource: AGENT, context: { 'aws:PrincipalArn': role } },
        role.replace(':iam::', ':sts::').replace(/:role\/(?:.*\/)?([^/]+)$/, ':assumed-role/$1/session'),
        { resourcePolicy: trust },
      )
    expect(await assumeAs(`arn:aws:iam::${HOME}:role/keyless/KeylessStack-TasksRole1234-ABCD`)).toBe(
      'Allowed',
    )
    expect(await assumeAs(grantRoleArn('aws', HOME, 'U0ALICE'))).toBe('ImplicitlyDenied')
    expect(await assumeAs(`arn:aws:iam::${HOME}:role/Admin`)).toBe('ImplicitlyDenied')
    expect(await assumeAs(`arn:aws:iam::777788889999:role/keyless/KeylessStack-TasksRole1234-ABCD`)).toBe(
      'ImplicitlyDenied',
    )
  })
})
