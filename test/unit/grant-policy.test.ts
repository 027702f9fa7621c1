import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { grantPolicyFor, INLINE_POLICY_QUOTA, policySize } from '../../shared/core/policy/grant-policy.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'
import { refusal } from '../kit/refusal.ts'

const config = specConfig()
const ROLE = 'arn:aws:iam::111122223333:role/alice-ops'
const USER = 'arn:aws:iam::111122223333:user/alice'
const activatedAt = new Date('2026-11-23T10:00:00.750Z')

describe('grantPolicyFor', () => {
  it('builds the SPEC example policy exactly (golden file)', async () => {
    const golden = JSON.parse(
      await readFile(new URL('../golden/prod-db-policy.json', import.meta.url), 'utf8'),
    )
    const result = grantPolicyFor(config, {
      target: 'prod-db',
      principal: ROLE,
      durationSeconds: 1800,
      activatedAt,
    })
    expect(result.policy).toEqual(golden)
    expect(result.expiresAt).toBe('2026-11-23T10:30:00Z')
    expect(result.size).toBe(policySize(golden))
    expect(result.quota).toBe(10240)
    expect(result.principal).toMatchObject({ kind: 'role', name: 'alice-ops' })
  })

  it('measures size as IAM does, without white space', () => {
    const { policy, size } = grantPolicyFor(config, {
      target: 'dev-web',
      principal: USER,
      durationSeconds: 60,
      activatedAt,
    })
    expect(size).toBe(JSON.stringify(policy).length)
    expect(size).toBeLessThan(JSON.stringify(policy, null, 2).length)
  })

  it('refuses a policy over a user’s inline quota, and accepts the same one for a role', () => {
    const raw = specConfigObject()
    raw.regions = ['eu-west-1', 'us-east-1', 'eu-central-1', 'ap-south-1']
    raw.targets['prod-db'].ports = [5432, 6432, 8080, 9090, 3306, 6379]
    const wide = configFrom(raw)
    const request = { target: 'prod-db', durationSeconds: 1800, activatedAt }
    const asRole = grantPolicyFor(wide, { ...request, principal: ROLE })
    expect(asRole.size).toBeGreaterThan(INLINE_POLICY_QUOTA.user)
    expect(refusal(() => grantPolicyFor(wide, { ...request, principal: USER }))).toEqual({
      code: 'POLICY_TOO_LARGE',
      message: `The policy for prod-db is ${asRole.size} characters, over the 2048 an IAM user's inline policies may total; attach grants to an IAM role, or give prod-db fewer regions, ports or access kinds.`,
    })
  })

  it.each([
    [
      'an unknown target',
      { target: 'nope' },
      'UNKNOWN_TARGET',
      'There is no target "nope". Targets: prod-db, dev-web.',
    ],
    [
      'a duration over the maximum',
      { durationSeconds: 7201 },
      'DURATION_OVER_LIMIT',
      "2h1s is over prod-db's maximum of 2h; ask for 2h or less.",
    ],
    [
      'a zero duration',
      { durationSeconds: 0 },
      'INVALID_DURATION',
      'A grant needs a positive duration, such as 30m.',
    ],
    [
      'an assumed-role session',
      { principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice' },
      'INVALID_PRINCIPAL',
      '"arn:aws:sts::111122223333:assumed-role/alice-ops/alice" is not an IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/alice-ops.',
    ],
    [
      'a wildcard principal',
      { principal: 'arn:aws:iam::111122223333:role/*' },
      'INVALID_PRINCIPAL',
      '"arn:aws:iam::111122223333:role/*" is not an IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/alice-ops.',
    ],
    [
      'a principal in another account',
      { principal: 'arn:aws:iam::444455556666:role/alice-ops' },
      'INVALID_PRINCIPAL',
      "arn:aws:iam::444455556666:role/alice-ops is not in prod-db's account 111122223333 (aws); grants attach there.",
    ],
  ])('refuses %s', (_, overrides, code, message) => {
    const request = { target: 'prod-db', principal: ROLE, durationSeconds: 1800, activatedAt, ...overrides }
    expect(refusal(() => grantPolicyFor(config, request))).toEqual({ code, message })
  })

  it('accepts role paths and scopes a gov-cloud config to its partition', () => {
    const raw = specConfigObject()
    raw.region = 'us-gov-west-1'
    raw.regions = ['us-gov-west-1']
    raw.people.U0ALICE.principal = 'arn:aws-us-gov:iam::111122223333:role/ops/alice'
    const gov = configFrom(raw)
    const { policy } = grantPolicyFor(gov, {
      target: 'dev-web',
      principal: 'arn:aws-us-gov:iam::111122223333:role/ops/alice',
      durationSeconds: 600,
      activatedAt,
    })
    for (const statement of policy.Statement) {
      for (const resource of [statement.Resource].flat()) expect(resource).toMatch(/^arn:aws-us-gov:/)
    }
  })
})
