import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runKeyless } from '../kit/cli.ts'
import { SPEC_CONFIG_YAML } from '../kit/config.ts'

const keyless = runKeyless

let dir: string
let configFile: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-cli-'))
  configFile = join(dir, 'keyless.config.yaml')
  await writeFile(configFile, SPEC_CONFIG_YAML)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const ROLE = 'arn:aws:iam::111122223333:role/alice-ops'

describe('keyless policy', () => {
  it('prints the policy document a grant would attach', async () => {
    const result = await keyless([
      'policy',
      'dev-web',
      '--principal',
      ROLE,
      '--duration',
      '1h30m',
      '--now',
      '2026-11-23T10:00:00Z',
      '--config',
      configFile,
    ])
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const policy = JSON.parse(result.stdout)
    expect(policy.Version).toBe('2012-10-17')
    expect(policy.Statement[0].Condition.DateLessThan).toEqual({ 'aws:CurrentTime': '2026-11-23T11:30:00Z' })
  })

  it('several targets: one policy over them in an account, one per account with --person', async () => {
    const now = ['--duration', '30m', '--now', '2026-11-23T10:00:00Z']
    const one = await keyless([
      'policy',
      'prod-db,dev-web',
      '--principal',
      ROLE,
      ...now,
      '--config',
      configFile,
    ])
    const statements = JSON.stringify(JSON.parse(one.stdout).Statement)
    expect(statements).toContain('"ssm:resourceTag/access-target":"prod-db"')
    expect(statements).toContain('"ssm:resourceTag/access-target":"dev-web"')
    const organization = 'keyless.config.organization.example.yaml'
    const two = await keyless([
      'policy',
      'prod-db,tools',
      '--person',
      'U0ALICE',
      ...now,
      '--json',
      '--config',
      organization,
    ])
    const { placements } = JSON.parse(two.stdout) as { placements: { account: string; principal: string }[] }
    expect(placements.map(({ account, principal }) => [account, principal])).toEqual([
      ['444455556666', 'arn:aws:iam::444455556666:role/keyless/grant/U0ALICE'],
      ['111122223333', 'arn:aws:iam::111122223333:role/alice-ops'],
    ])
    expect(
      (await keyless(['policy', 'prod-db,nope', '--principal', ROLE, ...now, '--config', configFile])).stderr,
    ).toContain('There is no target "nope"')
  })

  it('--explain prints each statement under what it is for, and the size against the quota', async () => {
    const args = [
      'policy',
      'prod-db',
      '--principal',
      ROLE,
      '--duration',
      '30m',
      '--now',
      '2026-11-23T10:00:00Z',
    ]
    const [plain, explained] = await Promise.all([
      keyless([...args, '--config', configFile]),
      keyless([...args, '--config', configFile, '--explain']),
    ])
    const policy = JSON.parse(plain.stdout)
    const lines = explained.stdout.split('\n')
    expect(lines.filter((line) => line.startsWith('Statement '))).toEqual([
      'Statement 1: Start a session on instances tagged access-target=prod-db in eu-west-1, us-east-1, naming a document (no fallback to a shell the grant does not give).',
      "Statement 2: Use the granted session documents (SSM-SessionManagerRunShell, keyless-prod-db-port-5432, AWS-StartSSHSession), and open data channels on the principal's own sessions.",
      'Statement 3: Send an SSH public key (EC2 Instance Connect) for OS user ec2-user to the same instances.',
      "Statement 4: End or resume the principal's own sessions.",
    ])
    // Under each heading, exactly the statement the policy attaches.
    const blocks = explained.stdout.split(/^Statement \d+: .*$/m).slice(1)
    expect(blocks.map((block) => JSON.parse(block.split('\n\n')[0] ?? ''))).toEqual(policy.Statement)
    expect(lines.slice(-3)).toEqual([
      'Every statement ends at 2026-11-23T10:30:00Z (aws:CurrentTime), even if removal fails.',
      `Size: ${JSON.stringify(policy).length} characters, without white space, of the 10240 an IAM role's inline policies may total.`,
      '',
    ])
  })

  it('finds the config through $KEYLESS_CONFIG', async () => {
    const result = await keyless(['policy', 'dev-web', '--principal', ROLE, '--duration', '5m'], {
      KEYLESS_CONFIG: configFile,
    })
    expect(result.code).toBe(0)
  })

  it.each([
    [
      ['policy', 'nope', '--principal', ROLE, '--duration', '30m'],
      'keyless: There is no target "nope". Targets: prod-db, dev-web.\n',
    ],
    [
      ['policy', 'prod-db,', '--principal', ROLE, '--duration', '30m'],
      'keyless: "prod-db," has an empty target name: name several targets with commas and no spaces (prod-db,dev-web)\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '3h'],
      "keyless: 3h is over prod-db's maximum of 2h; ask for 2h or less.\n",
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '0m'],
      'keyless: --duration: "0m" is zero: a duration must be positive\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '-5m'],
      'keyless: --duration: "-5m" is negative: a duration is positive, such as 90s, 30m, 1h30m or 2d\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '30'],
      'keyless: --duration: "30" has no unit: write 30m for minutes (units: d, h, m, s)\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '1e9h'],
      'keyless: --duration: "1e9h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)\n',
    ],
    [
      ['policy', 'prod-db', '--principal', 'alice', '--duration', '30m'],
      'keyless: "alice" is not an IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/alice-ops.\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '30m', '--now', 'yesterday'],
      'keyless: --now: "yesterday" is not an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z\n',
    ],
    [
      ['policy', 'prod-db', '--principal', ROLE, '--duration', '30m', '--now', '2026-11-23'],
      'keyless: --now: "2026-11-23" is not an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z\n',
    ],
    [
      ['policy', "prod'db", '--principal', ROLE, '--duration', '30m'],
      'keyless: There is no target "prod\'db". Targets: prod-db, dev-web.\n',
    ],
  ])('refuses %j with one line and exit 1', async (args, message) => {
    const result = await keyless([...args, '--config', configFile])
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: message })
  })

  it('exits 2 on a malformed command line, 1 with one line when neither --principal nor --person is given', async () => {
    const result = await keyless(['policy', 'prod-db', '--principal', ROLE])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("error: required option '--duration <duration>' not specified")
    expect(await keyless(['policy', 'prod-db', '--duration', '30m', '--config', configFile])).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'keyless: give --principal <arn> (an IAM role or user) or --person <Slack user id> (from the config), one of the two\n',
    })
  })

  it("--person: the policy on the person's own principal, or on their grant role in a member account with its trust", async () => {
    const own = await keyless([
      'policy',
      'prod-db',
      '--person',
      'U0ALICE',
      '--duration',
      '30m',
      '--json',
      '--config',
      configFile,
    ])
    expect(own.code).toBe(0)
    const ownJson = JSON.parse(own.stdout)
    expect(ownJson).toMatchObject({
      account: '111122223333',
      principal: 'arn:aws:iam::111122223333:role/alice-ops',
    })
    expect(ownJson.trust).toBeUndefined()
    const organized = join(dir, 'organization.yaml')
    await writeFile(
      organized,
      `${SPEC_CONFIG_YAML.replace('targets:\n', 'targets:\n  batch:\n    account: prod\n    access: [shell]\n    approvers: [U0MANAGER1]\n')}organization: { id: o-a1b2c3d4e5, deployTo: [ou-ab12-prodxxxx] }\naccounts: { prod: { id: "444455556666" } }\nidentityCenter: { permissionSet: KeylessAccess }\n`.replace(
        'people:\n',
        'people:\n  U0CAROL: { identityCenterUser: carol@example.com, manager: U0MANAGER1 }\n',
      ),
    )
    const member = await keyless([
      'policy',
      'batch',
      '--person',
      'U0CAROL',
      '--duration',
      '30m',
      '--json',
      '--config',
      organized,
    ])
    expect(member.stderr).toBe('')
    const memberJson = JSON.parse(member.stdout)
    expect(memberJson.account).toBe('444455556666')
    expect(memberJson.principal).toBe('arn:aws:iam::444455556666:role/keyless/grant/U0CAROL')
    expect(JSON.stringify(memberJson.policy)).toContain('arn:aws:ec2:eu-west-1:444455556666:instance/*')
    expect(JSON.stringify(memberJson.policy)).not.toContain('111122223333')
    expect(memberJson.trust.Statement[0].Condition).toEqual({
      ArnLike: {
        'aws:PrincipalArn':
          'arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeylessAccess_*',
      },
      StringLike: { 'aws:userid': '*:carol@example.com' },
    })
    const human = await keyless([
      'policy',
      'batch',
      '--person',
      'U0CAROL',
      '--duration',
      '30m',
      '--config',
      organized,
    ])
    expect(human.stderr).toBe(
      'keyless: on arn:aws:iam::444455556666:role/keyless/grant/U0CAROL in account prod (444455556666), created on first use, bounded by arn:aws:iam::444455556666:policy/keyless/keyless-grant-boundary; --json shows its trust\n',
    )
    expect(
      (await keyless(['policy', 'batch', '--person', 'U0NOBODY', '--duration', '30m', '--config', organized]))
        .stderr,
    ).toBe("keyless: --person U0NOBODY is not in the config's people (U0CAROL, U0ALICE)\n")
  })
})

describe('keyless config validate', () => {
  it('says a valid file is valid', async () => {
    expect(await keyless(['config', 'validate', configFile])).toEqual({
      code: 0,
      stdout: `${configFile} is valid: 2 targets, 1 person, home region eu-west-1, regions eu-west-1, us-east-1\n`,
      stderr: '',
      config: `config ${configFile} (named on the command line)`,
    })
  })

  it('lists every problem of an invalid file, each naming its path', async () => {
    const broken = join(dir, 'broken.yaml')
    await writeFile(
      broken,
      SPEC_CONFIG_YAML.replace('maxDuration: 2h', 'maxDuration: 2x').replace('osUser:', 'osuser:'),
    )
    expect(await keyless(['config', 'validate', broken])).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        `keyless: ${broken} is not valid:`,
        '  targets.prod-db.maxDuration: "2x" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)',
        '  targets.prod-db: unknown key "osuser" (did you mean "osUser"?)',
        '  targets.prod-db.osUser: is required with ssh access, e.g. ec2-user',
        '',
      ].join('\n'),
      config: `config ${broken} (named on the command line)`,
    })
  })

  it('names a missing file', async () => {
    const result = await keyless(['config', 'validate', join(dir, 'missing.yaml')])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      'cannot read the config file (no such file); pass --config FILE or set KEYLESS_CONFIG',
    )
  })
})

describe('the installed bin', () => {
  it('runs as `npx keyless` with no build step', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      ['--no-install', 'keyless', 'config', 'validate', 'keyless.config.example.yaml'],
      {
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
    )
    expect(stdout).toBe(
      'keyless.config.example.yaml is valid: 2 targets, 2 people, home region eu-west-1, regions eu-west-1, us-east-1\n',
    )
  })

  it('prints no stack trace on a refusal', async () => {
    const run = promisify(execFile)(process.execPath, [
      'cli/keyless.ts',
      'policy',
      'nope',
      '--principal',
      ROLE,
      '--duration',
      '1h',
      '--config',
      'keyless.config.example.yaml',
    ])
    await expect(run).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'keyless: config keyless.config.example.yaml (named on the command line)\nkeyless: There is no target "nope". Targets: prod-db, dev-web.\n',
    })
  })
})
