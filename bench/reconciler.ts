import { performance } from 'node:perf_hooks'
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb'
import { LocalAccessBackend } from '../local/access-backend.ts'
import { grantKey, indexAttributes } from '../shared/adapters/dynamodb/keys.ts'
import { grantPolicyName } from '../shared/core/access/backend.ts'
import { parsePrincipalArn } from '../shared/core/aws/arn.ts'
import { addSeconds } from '../shared/core/clock.ts'
import type { Grant } from '../shared/core/grants/grant.ts'
import { type Executions, reconcile } from '../shared/core/grants/reconciler.ts'
import { buildGrantPolicy } from '../shared/core/policy/grant-policy.ts'
import { startEmbeddedDynamo } from '../test/kit/dynamo.ts'
import { activeGrant, advance, at, pendingGrant, T0, workflow } from '../test/kit/grants.ts'
import { RecordingNotifier } from '../test/kit/notifier.ts'
import { ALICE, workflowConfig } from '../test/kit/plane.ts'

/**
 * The reconciler over a table of 10,000 grants, 100 of which need repair (active past expiry,
 * their workflow gone): how long one pass takes, and what it reads. It must query by status,
 * never scan: a pass costs what is live, not what is stored.
 */
export async function reconcilerAtScale(stored = 10_000, needRepair = 100): Promise<void> {
  const config = workflowConfig()
  const db = await startEmbeddedDynamo('bench-reconciler')
  const backend = new LocalAccessBackend()
  const alice = parsePrincipalArn(ALICE)
  if (!alice) throw new Error('bad principal')
  try {
    const live = 500
    const grants: Grant[] = []
    for (let i = 0; i < stored; i++) {
      if (i < needRepair)
        grants.push(activeGrant(config)) // expired at T0 + 1860 s, still ACTIVE
      else if (i < needRepair + live) {
        // Active and not due: requested just now, activated, expiring in half an hour.
        const now = new Date()
        grants.push(
          advance(pendingGrant(config, {}, now), [
            [{ type: 'approve' }, { kind: 'slack', id: 'U0BOB' }, now],
            [{ type: 'activate' }, workflow, now],
          ]),
        )
      } else grants.push(advance(activeGrant(config), [[{ type: 'end' }, workflow, at(4000)]]))
    }
    const loadStarted = performance.now()
    for (let i = 0; i < grants.length; i += 25) {
      const batch = grants.slice(i, i + 25)
      await db.client.send(
        new BatchWriteCommand({
          RequestItems: {
            [db.tableName]: batch.map((grant) => ({
              PutRequest: { Item: { ...grant, ...grantKey(grant.id), ...indexAttributes(grant) } },
            })),
          },
        }),
      )
    }
    const policy = buildGrantPolicy(
      config,
      config.targets.get('prod-db') ?? (undefined as never),
      addSeconds(T0, 1860),
    )
    for (const grant of grants.slice(0, needRepair + live)) {
      await backend.attachPolicy(alice, grantPolicyName(grant.id), policy)
    }
    const loadMs = performance.now() - loadStarted

    // Every live execution reported running: the probe's cost without restarts (one
    // DescribeExecution per live grant in AWS).
    let probes = 0
    const executions: Executions = {
      latestExecution: async (grantId) => {
        probes += 1
        return { name: grantId, attempt: 1, running: true }
      },
      startExecution: async () => false,
    }
    db.commands.length = 0
    const started = performance.now()
    const findings = await reconcile(
      {
        config,
        store: db.store,
        backend,
        notifier: new RecordingNotifier(),
        clock: { now: () => new Date() },
        warn: () => {},
        workflow: executions,
      },
      { graceSeconds: 120, activationGraceSeconds: 600 },
    )
    const passMs = performance.now() - started
    const byCommand = new Map<string, number>()
    for (const command of db.commands) byCommand.set(command, (byCommand.get(command) ?? 0) + 1)
    const repaired = findings.filter((finding) => finding.what === 'expired-access-removed').length
    console.log(
      `\nreconciler, ${stored} stored grants (${needRepair} active past expiry, ${live} active and due later, the rest ended; loaded in ${(loadMs / 1000).toFixed(1)} s): one pass ${Math.round(passMs)} ms, repaired ${repaired}/${needRepair}, other findings ${findings.length - repaired}; DynamoDB requests: ${[...byCommand].map(([command, count]) => `${command} ${count}`).join(', ')}${byCommand.has('Scan') ? ' — SCANNED' : ' (no Scan)'}; execution probes ${probes}`,
    )
  } finally {
    await db.close()
  }
}
