import { readdir } from 'node:fs/promises'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arnPattern } from '../../shared/core/alerts/arn-pattern.ts'
import { AllowedNetworks } from '../../shared/core/alerts/network.ts'
import { readRecord } from '../../shared/core/alerts/record.ts'
import { alertPolicy, statelessFindings } from '../../shared/core/alerts/rules.ts'
import { access, FIXTURES, fixture, startSession } from '../kit/cloudtrail.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'

const config = configFrom(specConfigObject()) // requireMfa, 203.0.113.0/24 and 2001:db8::/32
const policy = alertPolicy(config)

const rules = (raw: unknown, with_ = policy) =>
  statelessFindings(access(raw), with_).map((finding) => finding.rule)

describe('CloudTrail access records (the fixtures)', () => {
  it('a session with MFA from the allowed network raises nothing', async () => {
    const event = access(await fixture('start-session-mfa.eventbridge.json'))
    expect(event).toMatchObject({
      eventId: '11111111-2222-4333-8444-555555555555',
      identity: { issuer: 'arn:aws:iam::111122223333:role/alice-ops', mfaAuthenticated: true },
      instances: ['i-0123456789abcdef0'],
      account: '111122223333',
    })
    expect(statelessFindings(event, policy)).toEqual([])
  })

  it('a port-forward without MFA from an outside network raises NO_MFA and UNEXPECTED_SOURCE_IP', async () => {
    const raw = await fixture('start-session-port-forward-no-mfa.json')
    expect(access(raw).document).toBe('AWS-StartPortForwardingSession')
    const findings = statelessFindings(access(raw), policy)
    expect(findings.map((finding) => [finding.rule, finding.severity])).toEqual([
      ['NO_MFA', 'high'],
      ['UNEXPECTED_SOURCE_IP', 'high'],
    ])
    expect(findings[1]?.detail).toBe(
      'StartSession by arn:aws:sts::111122223333:assumed-role/dave-ops/dave on i-0123456789abcdef0 in eu-west-1 from 192.0.2.200, outside alerts.allowedSourceCidrs',
    )
  })

  it('a denied call raises ACCESS_DENIED, not NO_MFA: nothing was accessed', async () => {
    expect(rules(await fixture('start-session-denied.json'))).toEqual(['ACCESS_DENIED'])
  })

  it('an Identity Center role is NO_MFA unless its issuer is trusted (its mfaAuthenticated is false even with MFA at sign-in)', async () => {
    const raw = await fixture('start-session-identity-center.json')
    expect(rules(raw)).toEqual(['NO_MFA'])
    const trusting = specConfigObject()
    trusting.alerts.trustedMfaSessionIssuers = [
      'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*',
    ]
    expect(rules(raw, alertPolicy(configFrom(trusting)))).toEqual([])
  })

  it('an EC2 Instance Connect push by an IAM user names its instance (the older request shape)', async () => {
    const raw = await fixture('send-ssh-public-key-iam-user.json')
    expect(access(raw)).toMatchObject({ eventName: 'SendSSHPublicKey', instances: ['i-0a2fd4111fddca8c5'] })
    expect(rules(raw)).toEqual(['NO_MFA', 'UNEXPECTED_SOURCE_IP'])
  })

  it('ignores what is not an access event', async () => {
    expect(readRecord(await fixture('terminate-session.json'))).toEqual({
      kind: 'ignored',
      eventId: '55555555-6666-4777-8888-999999999999',
      eventName: 'TerminateSession',
    })
    // Every fixture is read without an error.
    for (const name of (await readdir(FIXTURES)).filter((file) => file.endsWith('.json'))) {
      expect(readRecord(await fixture(name)).kind, name).not.toBe('malformed')
    }
  })
})

describe('real shapes beyond the fixtures', () => {
  it('root raises ROOT_ACCESS, critical', () => {
    const root = startSession({
      userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' },
    })
    const findings = statelessFindings(access(root), policy)
    expect(findings.map((finding) => [finding.rule, finding.severity])).toEqual([
      ['ROOT_ACCESS', 'critical'],
      ['NO_MFA', 'high'],
    ])
  })

  it('long-term access keys carry no session context: not MFA', () => {
    const keys = startSession({
      userIdentity: {
        type: 'IAMUser',
        arn: 'arn:aws:iam::111122223333:user/bob',
        accessKeyId: 'AKIAEXAMPLE',
      },
    })
    expect(rules(keys)).toEqual(['NO_MFA'])
  })

  it('an origin inside AWS is never an unexpected source; IPv6 is matched like IPv4', () => {
    for (const origin of ['ssm.amazonaws.com', 'AWS Internal']) {
      expect(rules(startSession({ sourceIPAddress: origin })), origin).toEqual([])
    }
    expect(rules(startSession({ sourceIPAddress: '2001:db8:1::7' }))).toEqual([])
    expect(rules(startSession({ sourceIPAddress: '2001:db9::7' }))).toEqual(['UNEXPECTED_SOURCE_IP'])
    expect(rules(startSession({ sourceIPAddress: '::ffff:203.0.113.9' }))).toEqual([])
  })

  it('a source that is neither an IP address nor an AWS service fails closed', () => {
    for (const source of [
      'Coral/Jakarta',
      'example.com',
      'amazonaws.com',
      'ssm.amazonaws.com.evil.example',
      '-',
    ]) {
      expect(rules(startSession({ sourceIPAddress: source })), source).toEqual(['UNEXPECTED_SOURCE_IP'])
    }
    const [finding] = statelessFindings(access(startSession({ sourceIPAddress: 'Coral/Jakarta' })), policy)
    expect(finding?.detail).toContain('from Coral/Jakarta, which is neither an IP address nor an AWS service')
    for (const origin of ['ec2-instance-connect.amazonaws.com', 'ssm.eu-west-1.amazonaws.com']) {
      expect(rules(startSession({ sourceIPAddress: origin })), origin).toEqual([])
    }
  })

  it('with no allowed networks configured, no address is unexpected', () => {
    const open = specConfigObject()
    open.alerts.allowedSourceCidrs = []
    expect(rules(startSession({ sourceIPAddress: '198.51.100.1' }), alertPolicy(configFrom(open)))).toEqual(
      [],
    )
  })

  it('reads missing and null fields as unknown, not as errors', () => {
    const sparse = startSession({
      userIdentity: null,
      sourceIPAddress: null,
      awsRegion: null,
      requestParameters: null,
    })
    const event = access(sparse)
    expect(event).toMatchObject({
      identity: { arn: null, issuer: null, mfaAuthenticated: false },
      instances: [],
    })
    expect(statelessFindings(event, policy).map((finding) => finding.detail)).toEqual([
      'StartSession by an unknown principal without MFA',
    ])
    const resume = access(
      startSession({ eventName: 'ResumeSession', requestParameters: { sessionId: 'alice-0a1b' } }),
    )
    expect(resume.instances).toEqual([])
  })

  it('names every instance of a request that names several, and never something that is not an instance id', () => {
    const many = startSession({
      requestParameters: {
        instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210', '*', 'i-0123456789abcdef0'],
      },
    })
    expect(access(many).instances).toEqual(['i-0123456789abcdef0', 'i-0fedcba9876543210'])
  })

  it('says which field of a malformed record is wrong', () => {
    expect(readRecord('StartSession')).toEqual({
      kind: 'malformed',
      field: '(record)',
      problem: 'is not a JSON object',
    })
    expect(readRecord({ eventSource: 'ssm.amazonaws.com' })).toMatchObject({
      field: 'eventName',
      problem: 'is missing',
    })
    const { eventID: _, ...noId } = startSession()
    expect(readRecord(noId)).toMatchObject({ kind: 'malformed', field: 'eventID', problem: 'is missing' })
    expect(readRecord(startSession({ eventTime: 'yesterday' }))).toMatchObject({
      field: 'eventTime',
      problem: 'is not a time',
    })
    expect(readRecord(startSession({ userIdentity: 'alice' }))).toMatchObject({
      kind: 'malformed',
      field: 'userIdentity',
    })
  })
})

/** The reference: an address's bits compared with a network's, by plain arithmetic. */
function inNetwork(address: bigint, network: bigint, prefix: number, width: number): boolean {
  const shift = BigInt(width - prefix)
  return address >> shift === network >> shift
}
const ipv4 = (value: bigint) => [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.')
const ipv6 = (value: bigint) =>
  Array.from({ length: 8 }, (_, group) => ((value >> BigInt((7 - group) * 16)) & 0xffffn).toString(16)).join(
    ':',
  )

describe('network and issuer matching (properties)', () => {
  it('IPv4 CIDRs match exactly the addresses whose leading prefix bits agree, edge prefixes included', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, 2n ** 32n - 1n),
        fc.bigInt(0n, 2n ** 32n - 1n),
        fc.integer({ min: 0, max: 32 }),
        (address, network, prefix) => {
          const networks = new AllowedNetworks([`${ipv4(network)}/${prefix}`])
          expect(networks.expects(ipv4(address))).toBe(inNetwork(address, network, prefix, 32))
          expect(networks.expects(ipv4(network))).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('IPv6 CIDRs too', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, 2n ** 128n - 1n),
        fc.bigInt(0n, 2n ** 128n - 1n),
        fc.integer({ min: 0, max: 128 }),
        (address, network, prefix) => {
          // Keep the two close sometimes, so matches are not only the prefix-0 ones.
          const near =
            prefix > 64 ? address : (network & ~((1n << 64n) - 1n)) | (address & ((1n << 64n) - 1n))
          const networks = new AllowedNetworks([`${ipv6(network)}/${prefix}`])
          expect(networks.expects(ipv6(near))).toBe(inNetwork(near, network, prefix, 128))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('one set of networks answers many addresses, again and again, as a new one would (its memory of answers stays right past its bound)', () => {
    const networks = new AllowedNetworks(['10.0.0.0/8', '2001:db8::/32'])
    const addresses = Array.from({ length: 10_000 }, (_, n) =>
      n % 2 === 0
        ? `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
        : `11.0.${(n >> 8) & 255}.${n & 255}`,
    )
    for (const round of [1, 2]) {
      for (const [n, address] of addresses.entries()) {
        expect(networks.expects(address), `${address}, round ${round}`).toBe(n % 2 === 0)
      }
    }
    expect(networks.expects('2001:db8::1')).toBe(true)
    expect(networks.expects('not an address')).toBe(false)
    expect(networks.expects('ssm.amazonaws.com')).toBe(true)
  })

  it('issuer globs: * spans any run of characters, slashes included; nothing else is a wildcard', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_+=,.@/?-]{0,12}$/)
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 4 }),
        fc.array(part, { minLength: 4, maxLength: 4 }),
        (literals, fills) => {
          const pattern = literals.join('*')
          const arn = literals.map((literal, i) => (i === 0 ? literal : `${fills[i - 1]}${literal}`)).join('')
          expect(arnPattern(pattern)(arn)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
    expect(arnPattern('arn:aws:iam::1:role/a?c')('arn:aws:iam::1:role/abc')).toBe(false)
    expect(arnPattern('arn:aws:iam::1:role/a.c')('arn:aws:iam::1:role/abc')).toBe(false)
    expect(arnPattern('arn:aws:iam::1:role/sso/*')('arn:aws:iam::1:role/sso/eu-west-1/Op')).toBe(true)
    expect(arnPattern('arn:aws:iam::1:role/sso/*')('arn:aws:iam::2:role/sso/eu-west-1/Op')).toBe(false)
  })
})
