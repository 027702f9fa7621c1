import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REGIONS } from '../../shared/core/aws/regions.ts'
import {
  ConfigError,
  chooseConfigFile,
  describeConfigChoice,
  loadConfigFile,
  parseConfig,
} from '../../shared/core/config/load.ts'
import { requestGrant } from '../../shared/core/grants/lifecycle.ts'
import { grantPolicyFor } from '../../shared/core/policy/grant-policy.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'
import { aliceRequest, T0 } from '../kit/grants.ts'

/** The problems a config object is refused with, as the user reads them. */
function problemsOf(object: unknown): string[] {
  try {
    configFrom(object)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('the config was accepted')
}

function withChange(change: (config: ReturnType<typeof specConfigObject>) => void) {
  const config = specConfigObject()
  change(config)
  return config
}

describe('the example config of the contract', () => {
  it('is valid and resolves defaults', () => {
    const config = specConfig()
    expect(config.partition).toBe('aws')
    expect(config.regions).toEqual(['eu-west-1', 'us-east-1'])
    expect(config.approvalTimeoutSeconds).toBe(1800)
    expect(config.targets.get('prod-db')).toEqual({
      name: 'prod-db',
      description: 'Production PostgreSQL hosts',
      tagKey: 'access-target',
      tagValue: 'prod-db',
      access: ['shell', 'port-forward', 'ssh'],
      ports: [5432],
      osUser: 'ec2-user',
      maxDurationSeconds: 7200,
      approvers: ['U0MANAGER1', 'U0MANAGER2'],
      approvals: 1,
      autoApprove: false,
      account: { name: 'home', id: '111122223333', regions: ['eu-west-1', 'us-east-1'] },
    })
    expect(config.accounts.size).toBe(0)
    expect(config.organization).toBeUndefined()
    expect(config.targets.get('dev-web')).toMatchObject({
      tagValue: 'dev-web',
      ports: [],
      approvers: [],
      approvals: 1,
      autoApprove: true,
      maxDurationSeconds: 8 * 3600,
    })
    expect(config.people.get('U0ALICE')).toEqual({
      slackUserId: 'U0ALICE',
      principal: 'arn:aws:iam::111122223333:role/alice-ops',
      manager: 'U0BOB',
    })
  })

  it('fills every optional block with its default', () => {
    const config = configFrom({
      account: '111122223333',
      region: 'cn-north-1',
      slack: { securityChannel: 'C0SECURITY' },
      targets: { web: { access: ['shell'] } },
    })
    expect(config.partition).toBe('aws-cn')
    expect(config.regions).toEqual(['cn-north-1'])
    expect(config.approvalTimeoutSeconds).toBe(1800)
    expect(config.alerts).toEqual({
      requireMfa: true,
      trustedMfaSessionIssuers: [],
      allowedSourceCidrs: [],
    })
    expect(config.targets.get('web')).toMatchObject({
      tagKey: 'access-target',
      tagValue: 'web',
      maxDurationSeconds: 4 * 3600,
    })
    expect(config.people.size).toBe(0)
  })

  it('keeps a target named like an Object.prototype member apart from the prototype', () => {
    const config = configFrom(
      withChange((c) => {
        c.targets.constructor = { access: ['shell'] }
      }),
    )
    expect(config.targets.get('constructor')?.tagValue).toBe('constructor')
    expect(config.targets.get('toString')).toBeUndefined()
  })
})

describe('config errors name their path and the expected form', () => {
  it.each<[string, (c: ReturnType<typeof specConfigObject>) => void, string]>([
    [
      'a bad duration',
      (c) => {
        c.targets['prod-db'].maxDuration = '2x'
      },
      'targets.prod-db.maxDuration: "2x" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)',
    ],
    [
      'a zero duration',
      (c) => {
        c.defaults.approvalTimeout = '0m'
      },
      'defaults.approvalTimeout: "0m" is zero: a duration must be positive',
    ],
    [
      'a negative duration',
      (c) => {
        c.defaults.maxDuration = '-5m'
      },
      'defaults.maxDuration: "-5m" is negative: a duration is positive, such as 90s, 30m, 1h30m or 2d',
    ],
    [
      'a huge duration',
      (c) => {
        c.targets['dev-web'].maxDuration = '1e9h'
      },
      'targets.dev-web.maxDuration: "1e9h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)',
    ],
    [
      'a unitless duration',
      (c) => {
        c.targets['dev-web'].maxDuration = '30'
      },
      'targets.dev-web.maxDuration: "30" has no unit: write 30m for minutes (units: d, h, m, s)',
    ],
    [
      'a numeric duration',
      (c) => {
        c.targets['dev-web'].maxDuration = 30
      },
      'targets.dev-web.maxDuration: expected a duration such as 30m, 1h30m or 2d, got number',
    ],
    [
      'a typo in a key',
      (c) => {
        c.targets['prod-db'].maxDuraton = '1h'
      },
      'targets.prod-db: unknown key "maxDuraton" (did you mean "maxDuration"?)',
    ],
    [
      'a top-level typo',
      (c) => {
        c.regoins = ['eu-west-1']
      },
      '(top level): unknown key "regoins" (did you mean "regions"?)',
    ],
    [
      'an unknown key with no near match',
      (c) => {
        c.alerts.pagerDuty = true
      },
      'alerts: unknown key "pagerDuty"',
    ],
    [
      'an unquoted account',
      (c) => {
        c.account = 111122223333
      },
      'account: expected a 12-digit AWS account id in quotes, got number',
    ],
    [
      'a short account',
      (c) => {
        c.account = '1234'
      },
      'account: "1234" is not a 12-digit AWS account id in quotes, e.g. "111122223333"',
    ],
    [
      'a missing account',
      (c) => {
        delete c.account
      },
      'account: is required',
    ],
    [
      'a bad region',
      (c) => {
        c.region = 'europe'
      },
      'region: "europe" is not an AWS region, e.g. eu-west-1',
    ],
    [
      'a region listed twice',
      (c) => {
        c.regions = ['eu-west-1', 'eu-west-1']
      },
      'regions[1]: "eu-west-1" is listed twice',
    ],
    [
      'a bad CIDR',
      (c) => {
        c.alerts.allowedSourceCidrs = ['203.0.113.0/24', '10.0.0.0/33']
      },
      'alerts.allowedSourceCidrs[1]: "10.0.0.0/33" is not a CIDR block, e.g. 203.0.113.0/24 or 2001:db8::/32',
    ],
    [
      'a CIDR without prefix',
      (c) => {
        c.alerts.allowedSourceCidrs = ['203.0.113.7']
      },
      'alerts.allowedSourceCidrs[0]: "203.0.113.7" is not a CIDR block, e.g. 203.0.113.0/24 or 2001:db8::/32',
    ],
    [
      'a non-boolean flag',
      (c) => {
        c.alerts.requireMfa = 'yes'
      },
      'alerts.requireMfa: expected true or false, got "yes"',
    ],
    [
      'an unknown access kind',
      (c) => {
        c.targets['dev-web'].access = ['rdp']
      },
      'targets.dev-web.access[0]: expected one of shell, port-forward, ssh, got "rdp"',
    ],
    [
      'no access kinds',
      (c) => {
        c.targets['dev-web'].access = []
      },
      'targets.dev-web.access: must name at least one access kind: shell, port-forward or ssh',
    ],
    [
      'port-forward without ports',
      (c) => {
        delete c.targets['prod-db'].ports
      },
      'targets.prod-db.ports: is required with port-forward access, e.g. [5432]',
    ],
    [
      'ports without port-forward',
      (c) => {
        c.targets['dev-web'].ports = [80]
      },
      'targets.dev-web.ports: is only allowed with port-forward access',
    ],
    [
      'a port out of range',
      (c) => {
        c.targets['prod-db'].ports = [0]
      },
      'targets.prod-db.ports[0]: ports run from 1 to 65535',
    ],
    [
      'ssh without osUser',
      (c) => {
        delete c.targets['prod-db'].osUser
      },
      'targets.prod-db.osUser: is required with ssh access, e.g. ec2-user',
    ],
    [
      'osUser without ssh',
      (c) => {
        c.targets['dev-web'].osUser = 'ubuntu'
      },
      'targets.dev-web.osUser: is only allowed with ssh access',
    ],
    [
      'a bad OS user',
      (c) => {
        c.targets['prod-db'].osUser = 'root;rm'
      },
      'targets.prod-db.osUser: "root;rm" is not a Linux user name, e.g. ec2-user',
    ],
    [
      'a tag value wildcard',
      (c) => {
        c.targets['prod-db'].tagValue = 'prod-*'
      },
      'targets.prod-db.tagValue: "prod-*" is not a literal tag value (no * ? $ or unicode), e.g. prod-db',
    ],
    [
      'a tag value policy variable',
      (c) => {
        c.targets['prod-db'].tagValue = '${aws:username}'
      },
      'targets.prod-db.tagValue: "${aws:username}" is not a literal tag value (no * ? $ or unicode), e.g. prod-db',
    ],
    [
      'an empty tag value',
      (c) => {
        c.targets['prod-db'].tagValue = ''
      },
      'targets.prod-db.tagValue: "" is not a literal tag value (no * ? $ or unicode), e.g. prod-db',
    ],
    [
      'an aws: tag key',
      (c) => {
        c.defaults.tagKey = 'aws:cloudformation:stack-name'
      },
      'defaults.tagKey: "aws:cloudformation:stack-name" is not a tag key (not starting with aws:, no * ? $), e.g. access-target',
    ],
    [
      'a bad approver',
      (c) => {
        c.targets['prod-db'].approvers = ['alice']
      },
      'targets.prod-db.approvers[0]: "alice" is not a Slack user id or user group id, e.g. U0123ABCD or S0123ABCD',
    ],
    [
      'unreachable approvals',
      (c) => {
        c.targets['prod-db'].approvals = 4
      },
      "targets.prod-db.approvals: needs 4 distinct approvers but at most 3 can approve (the approvers listed plus the requester's manager)",
    ],
    [
      'approvals no request can gather (its approvers and the manager are the requester)',
      (c) => {
        c.targets['prod-db'].approvers = ['U0ALICE', 'U0BOB']
        c.targets['prod-db'].approvals = 2
      },
      "targets.prod-db.approvals: needs 2 distinct approvers, but no request can gather more than 1 (a request's approvers are the target's and the requester's manager, never the requester)",
    ],
    [
      'a home region that does not exist',
      (c) => {
        c.region = 'eu-wset-1'
      },
      'region: "eu-wset-1" is not an AWS region (did you mean eu-west-1?)',
    ],
    [
      'a listed region that does not exist',
      (c) => {
        c.regions = ['eu-west-1', 'us-east1']
      },
      'regions[1]: "us-east1" is not an AWS region (did you mean us-east-1?)',
    ],
    [
      'a listed region of another partition',
      (c) => {
        c.regions = ['eu-west-1', 'cn-north-1']
      },
      'regions[1]: cn-north-1 is in partition aws-cn, but region eu-west-1 is in aws',
    ],
    [
      'a fractional approval count',
      (c) => {
        c.targets['prod-db'].approvals = 1.5
      },
      'targets.prod-db.approvals: expected a whole number, got number',
    ],
    [
      'a bad principal',
      (c) => {
        c.people.U0ALICE.principal = 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice'
      },
      'people.U0ALICE.principal: "arn:aws:sts::111122223333:assumed-role/alice-ops/alice" is not an IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/alice-ops',
    ],
    [
      'a principal in another account',
      (c) => {
        c.people.U0ALICE.principal = 'arn:aws:iam::444455556666:role/alice-ops'
      },
      'people.U0ALICE.principal: is in account 444455556666, but grants are attached in the configured account 111122223333',
    ],
    [
      'an IAM Identity Center role',
      (c) => {
        c.people.U0ALICE.principal =
          'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef'
      },
      'people.U0ALICE.principal: is an IAM Identity Center role: IAM refuses inline policies on it (UnmodifiableEntity); name a role of your own that people assume, e.g. arn:aws:iam::<account>:role/alice-ops',
    ],
    [
      'a service-linked role',
      (c) => {
        c.people.U0ALICE.principal =
          'arn:aws:iam::111122223333:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM'
      },
      'people.U0ALICE.principal: is a service-linked role: only its AWS service may change it (UnmodifiableEntity); name a role people assume',
    ],
    [
      "one of keyless's own roles",
      (c) => {
        c.people.U0ALICE.principal = 'arn:aws:iam::111122223333:role/keyless/Keyless-RevokeRole'
      },
      "people.U0ALICE.principal: is under /keyless/, where keyless's own roles live; grants never attach there",
    ],
    [
      'a person keyed by name',
      (c) => {
        c.people.alice = { principal: 'arn:aws:iam::111122223333:role/a' }
      },
      'people.alice: "alice" is not a Slack user id, e.g. U0123ABCD',
    ],
    [
      'a missing security channel',
      (c) => {
        delete c.slack.securityChannel
      },
      'slack.securityChannel: is required',
    ],
    [
      'no targets',
      (c) => {
        c.targets = {}
      },
      'targets: must define at least one target',
    ],
    [
      'targets as a list',
      (c) => {
        c.targets = ['prod-db']
      },
      'targets: expected a mapping of target names to targets, got object',
    ],
  ])('%s', (_, change, problem) => {
    expect(problemsOf(withChange(change))).toContain(problem)
  })

  it.each([
    ['prod db', 'targets["prod db"]'],
    ['prod"db', 'targets["prod\\"db"]'],
    ['prod/db', 'targets["prod/db"]'],
    ['prod-*', 'targets["prod-*"]'],
    ['prod?', 'targets["prod?"]'],
    ['prödb', 'targets["prödb"]'],
    ['-db', 'targets.-db'],
  ])('refuses the target name %j', (name, path) => {
    const problems = problemsOf(
      withChange((c) => {
        c.targets[name] = { access: ['shell'] }
      }),
    )
    expect(problems).toContain(
      `${path}: ${JSON.stringify(name)} is not a target name: letters, digits, '.', '_' or '-', at most 48 (no spaces, quotes, slashes, wildcards or unicode), e.g. prod-db`,
    )
  })

  it('reports every problem at once, those across fields too', () => {
    const problems = problemsOf(
      withChange((c) => {
        c.account = 'x'
        c.targets['prod-db'].maxDuration = '2x'
        c.targets['dev-web'].acess = ['shell']
        c.regions = ['eu-west-1', 'us-gov-west-1', 'mars-north-1']
        c.people.U0ALICE.principal = 'arn:aws:iam::111122223333:role/aws-service-role/x/y'
      }),
    )
    expect(problems).toEqual([
      'account: "x" is not a 12-digit AWS account id in quotes, e.g. "111122223333"',
      'regions[2]: "mars-north-1" is not an AWS region, e.g. eu-west-1',
      'targets.prod-db.maxDuration: "2x" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)',
      'targets.dev-web: unknown key "acess" (did you mean "access"?)',
      expect.stringMatching(/^people\.U0ALICE\.principal: is a service-linked role/),
      'regions[1]: us-gov-west-1 is in partition aws-us-gov, but region eu-west-1 is in aws',
    ])
  })

  it('knows the regions aws-cdk-lib knows, partition by partition', async () => {
    const { RegionInfo } = await import('aws-cdk-lib/region-info')
    const known = (partition: string) =>
      RegionInfo.regions.filter((region) => region.partition === partition).map((region) => region.name)
    for (const [partition, regions] of Object.entries(REGIONS)) {
      expect([...regions].sort(), partition).toEqual(known(partition).sort())
    }
  })

  it('points YAML syntax errors and duplicate keys at their line', () => {
    expect(() => parseConfig('account: "1"\naccount: "2"\n', 'dup.yaml')).toThrow(
      /dup\.yaml is not valid:\n {2}line 2, column 1: Map keys must be unique/,
    )
    expect(() => parseConfig('targets: [\n', 'broken.yaml')).toThrow(
      /broken\.yaml is not valid:\n {2}line \d+, column \d+: /,
    )
  })

  it('refuses an empty file with what is missing', () => {
    const problems = (() => {
      try {
        parseConfig('', 'empty.yaml')
      } catch (error) {
        return (error as ConfigError).problems
      }
    })()
    expect(problems).toEqual([
      'account: is required',
      'region: is required',
      'slack: is required',
      'targets: is required',
    ])
  })
})

describe('several accounts and Identity Center', () => {
  const organization = () =>
    withChange((c) => {
      c.organization = { id: 'o-a1b2c3d4e5', deployTo: ['ou-ab12-prodxxxx', 'ou-ab12-devxxxxx'] }
      c.accounts = { prod: { id: '444455556666', regions: ['eu-west-1'] }, dev: { id: '777788889999' } }
      c.identityCenter = { permissionSet: 'KeylessAccess' }
      c.targets['prod-db'].account = 'prod'
      c.people.U0CAROL = { identityCenterUser: 'carol@example.com', manager: 'U0BOB' }
    })

  it('reads the organization, its accounts (regions default to the top-level ones) and Identity Center people', () => {
    const config = configFrom(organization())
    expect(config.organization).toEqual({
      id: 'o-a1b2c3d4e5',
      deployTo: ['ou-ab12-prodxxxx', 'ou-ab12-devxxxxx'],
    })
    expect([...config.accounts.values()]).toEqual([
      { name: 'prod', id: '444455556666', regions: ['eu-west-1'] },
      { name: 'dev', id: '777788889999', regions: ['eu-west-1', 'us-east-1'] },
    ])
    expect(config.targets.get('prod-db')?.account).toEqual({
      name: 'prod',
      id: '444455556666',
      regions: ['eu-west-1'],
    })
    expect(config.targets.get('dev-web')?.account.name).toBe('home')
    expect(config.identityCenter).toEqual({ permissionSet: 'KeylessAccess' })
    expect(config.people.get('U0CAROL')).toEqual({
      slackUserId: 'U0CAROL',
      identityCenterUser: 'carol@example.com',
      manager: 'U0BOB',
    })
  })

  it('refuses, each naming its path, what cannot work', () => {
    const problems = problemsOf(
      withChange((c) => {
        c.accounts = {
          prod: { id: '444455556666' },
          again: { id: '444455556666' },
          short: { id: '4444' },
          home: { id: '111122223333', regions: ['eu-west-1'] },
        }
        c.identityCenter = undefined
        c.targets['prod-db'].account = 'staging'
        c.people.U0CAROL = { identityCenterUser: 'carol@example.com' }
        c.people.U0DAVE = { principal: 'arn:aws:iam::111122223333:role/dave', identityCenterUser: 'dave' }
        c.people.U0ERIN = { manager: 'U0BOB' }
      }),
    )
    expect(problems).toEqual(
      expect.arrayContaining([
        'accounts.short.id: "4444" is not a 12-digit AWS account id in quotes, e.g. "444455556666"',
        'people.U0CAROL.identityCenterUser: needs identityCenter.permissionSet: the permission set people sign in with',
        'people.U0DAVE: has both a principal and an identityCenterUser: name one',
        'people.U0ERIN: needs a principal (an IAM role or user ARN) or an identityCenterUser',
        'accounts: needs organization (its id and the OUs keyless is deployed to): member accounts are reached through it',
        "accounts.again.id: is accounts.prod's id too",
        'accounts.home.regions: is the home account, whose regions are the top-level ones (eu-west-1, us-east-1)',
        'targets.prod-db.account: "staging" is not in accounts (prod, again, short, home)',
      ]),
    )
  })

  it("places a grant on the person's own principal in its account, else on their grant role in the target's", () => {
    const config = configFrom(organization())
    expect(requestGrant(aliceRequest({ target: 'prod-db' }), config, T0).principal).toBe(
      'arn:aws:iam::444455556666:role/keyless/grant/U0ALICE',
    )
    expect(
      requestGrant(aliceRequest({ target: 'prod-db', requester: 'U0CAROL' }), config, T0).principal,
    ).toBe('arn:aws:iam::444455556666:role/keyless/grant/U0CAROL')
    expect(requestGrant(aliceRequest({ target: 'dev-web' }), config, T0).principal).toBe(
      'arn:aws:iam::111122223333:role/alice-ops',
    )
    expect(
      requestGrant(aliceRequest({ target: 'dev-web', requester: 'U0CAROL' }), config, T0).principal,
    ).toBe('arn:aws:iam::111122223333:role/keyless/grant/U0CAROL')
    expect(() =>
      grantPolicyFor(config, {
        target: 'prod-db',
        principal: 'arn:aws:iam::111122223333:role/alice-ops',
        durationSeconds: 1800,
        activatedAt: T0,
      }),
    ).toThrow("arn:aws:iam::111122223333:role/alice-ops is not in prod-db's account 444455556666")
  })
})

describe('finding the config file', () => {
  it('prefers --config, then $KEYLESS_CONFIG, then ./keyless.config.yaml, then the example', async () => {
    // The repository root has no keyless.config.yaml: with nothing named, the example runs.
    expect(await chooseConfigFile('a.yaml', { KEYLESS_CONFIG: 'b.yaml' })).toEqual({
      file: 'a.yaml',
      source: 'flag',
    })
    expect(await chooseConfigFile(undefined, { KEYLESS_CONFIG: 'b.yaml' })).toEqual({
      file: 'b.yaml',
      source: 'env',
    })
    const example = await chooseConfigFile(undefined, {})
    expect(example).toEqual({ file: 'keyless.config.example.yaml', source: 'example' })
    expect(describeConfigChoice(example)).toBe(
      'config keyless.config.example.yaml (the shipped example: no ./keyless.config.yaml here)',
    )
    expect(describeConfigChoice({ file: 'b.yaml', source: 'env' })).toBe('config b.yaml ($KEYLESS_CONFIG)')
    expect(describeConfigChoice({ file: 'a.yaml', source: 'flag' })).toBe(
      'config a.yaml (named on the command line)',
    )
    expect(describeConfigChoice({ file: 'keyless.config.yaml', source: 'default' })).toBe(
      'config keyless.config.yaml',
    )
  })

  it('loads a file and names a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyless-config-'))
    const file = join(dir, 'keyless.config.yaml')
    await writeFile(file, JSON.stringify(specConfigObject()))
    await expect(loadConfigFile(file)).resolves.toMatchObject({ account: '111122223333' })
    await expect(loadConfigFile(join(dir, 'nope.yaml'))).rejects.toThrow(
      `${join(dir, 'nope.yaml')} is not valid:\n  cannot read the config file (no such file); pass --config FILE or set KEYLESS_CONFIG`,
    )
    await rm(dir, { recursive: true, force: true })
  })

  it('accepts Slack user groups among approvers, leaving their size to the request; requests.maxTargets', () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvers = ['S0DBAS', 'U0MANAGER1']
    raw.targets['prod-db'].approvals = 4
    raw.requests = { maxTargets: 3 }
    const config = configFrom(raw)
    expect(config.targets.get('prod-db')).toMatchObject({ approvers: ['S0DBAS', 'U0MANAGER1'], approvals: 4 })
    expect(config.requests.maxTargets).toBe(3)
    expect(configFrom(specConfigObject()).requests.maxTargets).toBe(5)
  })

  it('accepts the shipped example config', async () => {
    const config = await loadConfigFile('keyless.config.example.yaml')
    expect([...config.targets.keys()]).toEqual(['prod-db', 'dev-web'])
  })

  it('accepts the shipped organization example, placing each grant as its comments say', async () => {
    const config = await loadConfigFile('keyless.config.organization.example.yaml')
    const request = (requester: string, target: string) =>
      requestGrant(aliceRequest({ requester, target }), config, T0).principal
    expect(request('U0ALICE', 'tools')).toBe('arn:aws:iam::111122223333:role/alice-ops')
    expect(request('U0ALICE', 'prod-db')).toBe('arn:aws:iam::444455556666:role/keyless/grant/U0ALICE')
    expect(request('U0CAROL', 'prod-db')).toBe('arn:aws:iam::444455556666:role/keyless/grant/U0CAROL')
    expect(request('U0CAROL', 'tools')).toBe('arn:aws:iam::111122223333:role/keyless/grant/U0CAROL')
  })
})
