import { readFile } from 'node:fs/promises'
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { raw as auditRun } from '../../functions/audit/handler.ts'
import { LocalPolicySimulator } from '../../local/policy-simulator.ts'
import { DynamoAuditRuns, MAX_STORED_RUN_BYTES } from '../../shared/adapters/dynamodb/audit-runs.ts'
import { auditRunKey } from '../../shared/adapters/dynamodb/keys.ts'
import type { AuditTarget, KeptFinding } from '../../shared/core/audit/audit.ts'
import {
  type AuthorizationDetails,
  authorizationDetailsSchema,
  readAuthorization,
} from '../../shared/core/audit/authorization.ts'
import type { AccountSource, ScheduledAuditDeps } from '../../shared/core/audit/scheduled.ts'
import type { Clock } from '../../shared/core/clock.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { T0 } from '../kit/grants.ts'
import { RecordingNotifier } from '../kit/notifier.ts'

/**
 * The scheduled audit over the seeded authorization details (test/fixtures/audit), the local
 * simulator and the embedded DynamoDB: what changed between runs is told to security once.
 */

const HOME = '111122223333'
const MEMBER = '444455556666'
const arn = (name: string) => `arn:aws:iam::${HOME}:${name}`
const targets: AuditTarget[] = [
  {
    name: 'prod-db',
    tagKey: 'access-target',
    tagValue: 'prod-db',
    instances: [{ instanceId: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' }],
  },
]

let db: EmbeddedDynamo
let simulator: LocalPolicySimulator
let seeded: AuthorizationDetails
beforeAll(async () => {
  db = await startEmbeddedDynamo('keyless-audit-runs')
  simulator = await LocalPolicySimulator.create()
  seeded = authorizationDetailsSchema.parse(
    JSON.parse(
      await readFile(new URL('../fixtures/audit/authorization-details.json', import.meta.url), 'utf8'),
    ),
  )
})
afterAll(async () => {
  await db?.close()
})

let notifier: RecordingNotifier
beforeEach(async () => {
  notifier = new RecordingNotifier()
  await db.client.send(new DeleteCommand({ TableName: db.tableName, Key: auditRunKey }))
})

const home = (details: AuthorizationDetails, grantRolePeople = new Set(['U0CAROL'])): AccountSource => ({
  account: HOME,
  grantRolePeople,
  read: async () => ({ authorization: readAuthorization(details), targets, simulator }),
})
const unreachable: AccountSource = {
  account: MEMBER,
  grantRolePeople: new Set(),
  read: async () => {
    throw new Error('AccessDenied: not authorized to perform sts:AssumeRole on keyless-auditor')
  },
}
const run = (sources: AccountSource[]) => {
  const deps: ScheduledAuditDeps = {
    partition: 'aws',
    accepted: [arn('role/break-glass-admin')],
    sources,
    runs: new DynamoAuditRuns(db.client, db.tableName),
    notifier,
    clock: { now: () => T0 } satisfies Clock,
    warn: () => {},
  }
  return auditRun(deps)()
}
/** The details with `role` removed and `added` among the roles. */
const changed = (removed: string, added?: AuthorizationDetails['RoleDetailList'][number]) => ({
  ...seeded,
  RoleDetailList: [
    ...seeded.RoleDetailList.filter((role) => role.RoleName !== removed),
    ...(added ? [added] : []),
  ],
})

describe('the scheduled audit', () => {
  it('tells security what it found the first time, then only what opened and closed', async () => {
    const first = await run([home(seeded)])
    expect(first).toMatchObject({ first: true, closed: [], unaudited: [] })
    expect(first.opened.map((finding) => finding.principal).sort()).toEqual(
      [
        'role/bastion-replacement',
        'role/ci-deployer',
        'role/db-operator',
        'role/ops-admin',
        'user/carol',
        'user/dave',
      ]
        .map(arn)
        .sort(),
    )
    expect(notifier.notices).toEqual([{ kind: 'audit-changed', changes: first }])

    // Nothing changed: nothing told.
    expect(await run([home(seeded)])).toMatchObject({ first: false, opened: [], closed: [], standing: 6 })
    expect(notifier.notices).toHaveLength(1)

    // ops-admin's access removed; a new role with sessions everywhere appears.
    const newcomer = {
      ...(seeded.RoleDetailList.find(
        (role) => role.RoleName === 'bastion-replacement',
      ) as AuthorizationDetails['RoleDetailList'][number]),
      RoleName: 'contractor',
      Arn: arn('role/contractor'),
    }
    const third = await run([home(changed('ops-admin', newcomer))])
    expect(third.opened.map((finding) => finding.principal)).toEqual([arn('role/contractor')])
    expect(third.closed.map((finding) => finding.principal)).toEqual([arn('role/ops-admin')])
    expect(notifier.notices).toHaveLength(2)
  })

  it('keeps the last findings of an account it cannot read, and names it, rather than calling its holes closed', async () => {
    await run([home(seeded)])
    const memberFinding = {
      principal: `arn:aws:iam::${MEMBER}:role/ops`,
      account: MEMBER,
      target: 'batch',
      kind: 'standing' as const,
      actions: ['ssm:StartSession'],
    }
    const runs = new DynamoAuditRuns(db.client, db.tableName)
    const last = await runs.last()
    await runs.save({ at: last?.at ?? '', findings: [...(last?.findings ?? []), memberFinding] })
    const changes = await run([home(seeded), unreachable])
    expect(changes.closed).toEqual([])
    expect(changes.unaudited).toEqual([
      {
        account: MEMBER,
        reason: 'AccessDenied: not authorized to perform sts:AssumeRole on keyless-auditor',
      },
    ])
    expect((await runs.last())?.findings).toContainEqual(memberFinding)
  })

  it('names grant roles of people the config no longer places, and tells it again only when that changes', async () => {
    await run([home(seeded)])
    const orphaned = await run([home(seeded, new Set())])
    expect(orphaned).toMatchObject({
      opened: [],
      closed: [],
      orphanGrantRoles: [arn('role/keyless/grant/U0CAROL')],
    })
    expect(notifier.notices.at(-1)).toEqual({ kind: 'audit-changed', changes: orphaned })
    const told = notifier.notices.length
    await run([home(seeded, new Set())])
    expect(notifier.notices).toHaveLength(told)
  })

  it('saves a run only once its changes were told: a refused post is told again next run', async () => {
    notifier.refuse('audit-changed', 1)
    await expect(run([home(seeded)])).rejects.toThrow('Slack refused audit-changed')
    expect(await new DynamoAuditRuns(db.client, db.tableName).last()).toBeUndefined()
    expect((await run([home(seeded)])).first).toBe(true)
  })

  it('keeps only the standing findings, compressed: an organization with thousands of holes still fits', async () => {
    const first = await run([home(seeded)])
    const runs = new DynamoAuditRuns(db.client, db.tableName)
    expect((await runs.last())?.findings.map((finding) => finding.kind)).toEqual(
      Array(first.standing).fill('standing'),
    )
    // 20 accounts × 100 roles × 10 targets, each role with a different share of the reach actions.
    const actions = [
      'ssm:StartSession',
      'ssm:SendCommand',
      'ssm:StartAutomationExecution',
      'ssm:CreateAssociation',
    ]
    const many: KeptFinding[] = []
    for (let account = 0; account < 20; account++) {
      const id = String(100000000000 + account * 7_777_777)
      for (let role = 0; role < 100; role++) {
        for (let target = 0; target < 10; target++) {
          many.push({
            principal: `arn:aws:iam::${id}:role/team-${role}/admin-${(role * 7919) % 1009}`,
            account: id,
            target: `target-${target}`,
            kind: 'standing',
            actions: actions.slice(0, 1 + ((role + target) % actions.length)),
          })
        }
      }
    }
    await runs.save({ at: '2026-11-28T09:00:00Z', findings: many })
    expect(await runs.last()).toEqual({ at: '2026-11-28T09:00:00Z', findings: many })
    const { Item } = await db.client.send(new GetCommand({ TableName: db.tableName, Key: auditRunKey }))
    expect(Item?.run).toBeInstanceOf(Uint8Array)
    expect((Item?.run as Uint8Array | undefined)?.length).toBeLessThan(MAX_STORED_RUN_BYTES / 4)
  })

  it('refuses a run too large for one item with the reason, keeping the last one saved', async () => {
    const runs = new DynamoAuditRuns(db.client, db.tableName)
    await runs.save({ at: '2026-11-28T09:00:00Z', findings: [] })
    // Principals that share nothing: the worst case for compression.
    const unlike = Array.from({ length: 20_000 }, () => ({
      principal: `arn:aws:iam::111122223333:role/${crypto.randomUUID()}`,
      account: HOME,
      target: 'prod-db',
      kind: 'standing' as const,
      actions: ['ssm:StartSession'],
    }))
    await expect(runs.save({ at: '2026-11-28T10:00:00Z', findings: unlike })).rejects.toThrow(
      /^the audit's 20000 findings take \d+ KB compressed, more than one DynamoDB item holds \(390 KB\)/,
    )
    expect(await runs.last()).toEqual({ at: '2026-11-28T09:00:00Z', findings: [] })
  })

  it('reads a run saved before runs were compressed, and compares with it', async () => {
    await run([home(seeded)])
    const saved = await new DynamoAuditRuns(db.client, db.tableName).last()
    // The same run as an earlier keyless saved it: its findings as attributes.
    await db.client.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...auditRunKey, ...saved, at: '2026-11-21T09:00:00Z' },
      }),
    )
    expect(await new DynamoAuditRuns(db.client, db.tableName).last()).toEqual({
      ...saved,
      at: '2026-11-21T09:00:00Z',
    })
    const changes = await run([home(seeded)])
    expect(changes).toMatchObject({ first: false, opened: [], closed: [] })
    expect(changes.standing).toBe(saved?.findings.length)
  })
})
