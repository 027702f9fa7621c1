/**
 * `keyless audit --authorization-details` at scale: 1,000 roles (and 50 users in 5 groups) over
 * 200 instances of two targets in two regions, judged by the local stand-in, in a fresh process
 * each run: wall time and peak memory (max RSS), the candidates the cheap look picked against the
 * simulator calls made, and that every seeded hole was found. Targets: ≤ 3 s, ≤ 256 MB.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { median, printTable } from './report.ts'

const ACCOUNT = '111122223333'
const ROLES = 1000
const INSTANCES = 200

/** Runs the CLI's audit and reports its own peak memory and exit code when done. */
const RUNNER = (details: string) => `
import { runCli } from './cli/program.ts'
import { peakRssKb } from './bench/peak-memory.ts'
const io = { out: () => {}, err: () => {}, env: process.env, stopped: () => Promise.resolve() }
let stdout = ''
const code = await runCli(['audit', '--authorization-details', ${JSON.stringify(details)}, '--json', '--config', 'keyless.config.example.yaml'], { ...io, out: (text) => { stdout += text } })
const { checked, findings } = JSON.parse(stdout)
process.stderr.write(JSON.stringify({ code, maxRssKb: peakRssKb(), checked, standing: findings.filter((f) => f.kind === 'standing').map((f) => f.principal) }) + '\\n')
`

const statement = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
})
const documentOf = (...Statement: object[]) => ({ Version: '2012-10-17', Statement })

/**
 * Every twentieth role has a way in (five shapes of hole, each found), every twentieth one after
 * it a decoy the simulator refuses (a Deny, another target's tag, a boundary); the rest do what
 * roles in a real account do (S3, DynamoDB, Lambda, reads).
 */
export function authorizationDetails(): { details: object; holes: string[] } {
  const everyday = [
    documentOf(statement(['s3:GetObject', 's3:PutObject'], 'arn:aws:s3:::app-bucket/*')),
    documentOf(
      statement(['dynamodb:GetItem', 'dynamodb:Query'], `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app`),
    ),
    documentOf(statement(['lambda:InvokeFunction'], `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:app-*`)),
    documentOf(statement(['ec2:Describe*', 'ssm:Describe*', 'ssm:Get*'])),
  ]
  const holes = [
    documentOf(statement('ssm:*')),
    documentOf(statement('ssm:StartSession', 'arn:aws:ec2:*:*:instance/*')),
    documentOf({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }),
    documentOf(
      statement('ssm:StartSession', '*', {
        Condition: { StringEquals: { 'ssm:resourceTag/access-target': 'prod-db' } },
      }),
    ),
    documentOf(statement('ec2-instance-connect:SendSSHPublicKey', 'arn:aws:ec2:*:*:instance/*')),
  ]
  const decoys = [
    documentOf(statement('ssm:*'), { Effect: 'Deny', Action: 'ssm:*', Resource: '*' }),
    documentOf(
      statement('ssm:StartSession', '*', {
        Condition: { StringEquals: { 'ssm:resourceTag/access-target': 'staging' } },
      }),
    ),
  ]
  const seeded: string[] = []
  const roles = Array.from({ length: ROLES }, (_, index) => {
    const name = `app-role-${String(index).padStart(4, '0')}`
    const arn = `arn:aws:iam::${ACCOUNT}:role/${name}`
    let document = everyday[index % everyday.length]
    if (index % 20 === 0) {
      document = holes[(index / 20) % holes.length]
      seeded.push(arn)
    } else if (index % 20 === 1) document = decoys[index % decoys.length]
    return {
      Path: '/',
      RoleName: name,
      Arn: arn,
      AssumeRolePolicyDocument: documentOf({
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'sts:AssumeRole',
      }),
      RolePolicyList: [{ PolicyName: 'app', PolicyDocument: document }],
      AttachedManagedPolicies: [],
    }
  })
  const users = Array.from({ length: 50 }, (_, index) => ({
    Path: '/',
    UserName: `person-${index}`,
    Arn: `arn:aws:iam::${ACCOUNT}:user/person-${index}`,
    GroupList: [`team-${index % 5}`],
    UserPolicyList: [],
    AttachedManagedPolicies: [],
  }))
  const groups = Array.from({ length: 5 }, (_, index) => ({
    GroupName: `team-${index}`,
    GroupPolicyList: [{ PolicyName: 'team', PolicyDocument: everyday[index % everyday.length] }],
    AttachedManagedPolicies: [],
  }))
  return {
    details: { UserDetailList: users, GroupDetailList: groups, RoleDetailList: roles, Policies: [] },
    holes: seeded,
  }
}

/** The fleet: 200 instances, half each of the example's two targets, across its two regions. */
export function instances(): object[] {
  return Array.from({ length: INSTANCES }, (_, index) => ({
    instanceId: `i-0${index.toString(16).padStart(16, '0')}`,
    region: index % 2 === 0 ? 'eu-west-1' : 'us-east-1',
    tags: { 'access-target': index < INSTANCES / 2 ? 'prod-db' : 'dev-web' },
  }))
}

async function runOnce(file: string, dataDir: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER(file)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KEYLESS_DATA_DIR: dataDir },
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const start = performance.now()
  await once(child, 'exit')
  const wallMs = performance.now() - start
  const report = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}')
  return { wallMs, ...report } as {
    wallMs: number
    code: number
    maxRssKb: number
    checked: { principals: number; candidates: number; simulations: number }
    standing: string[]
  }
}

export async function auditAtScale(runs = 3): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-audit-'))
  try {
    const { details, holes } = authorizationDetails()
    const file = join(dir, 'authorization-details.json')
    await writeFile(file, JSON.stringify(details))
    await writeFile(join(dir, 'instances.json'), JSON.stringify(instances()))
    const results = []
    for (let run = 0; run < runs; run++) results.push(await runOnce(file, dir))
    const last = results.at(-1)
    if (last?.code !== 1) throw new Error(`the audit did not find the seeded holes: ${JSON.stringify(last)}`)
    const missed = holes.filter((hole) => !last.standing.includes(hole))
    const extra = last.standing.filter((found) => !holes.includes(found))
    printTable(
      [
        'keyless audit (local stand-in)',
        'runs',
        'wall, median',
        'max RSS, median',
        'candidates',
        'simulations',
      ],
      [
        [
          `${ROLES} roles + 50 users × ${INSTANCES} instances`,
          String(runs),
          `${(median(results.map((result) => result.wallMs)) / 1000).toFixed(2)} s`,
          `${Math.round(median(results.map((result) => result.maxRssKb)) / 1024)} MB`,
          `${last.checked.candidates} of ${last.checked.principals}`,
          String(last.checked.simulations),
        ],
      ],
    )
    console.log(
      `seeded holes ${holes.length}: found ${holes.length - missed.length}, missed ${missed.length}; decoys or others reported: ${extra.length} (targets: ≤ 3 s, ≤ 256 MB; every hole, no decoy)`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
