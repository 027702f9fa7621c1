import { hostname, userInfo } from 'node:os'
import { z } from 'zod'
import { dataDirOf, runningControlPlane } from '../../local/operator-api.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import { formatDuration } from '../../shared/core/config/duration.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import {
  describeActor,
  GRANT_ID_PATTERN,
  type Grant,
  grantPlacements,
  grantSchema,
  grantTargets,
  mayHoldAccess,
  sessionsOf,
} from '../../shared/core/grants/grant.ts'
import type { DoctorReport, TargetRevocation } from '../../shared/core/grants/operations.ts'
import type { CliIo } from '../io.ts'
import { operatorCall } from '../operator-client.ts'
import type { DeploymentCheck } from './deployment.ts'
import type { GrantsOptions, GrantsSource } from './grants-source.ts'

/**
 * `keyless grants list | show | revoke`: the operator's view of the grants, against the local
 * control plane while `npm start` runs (its data folder says where it listens and holds the
 * token that lets an operator in), or against a deployed table with `--table` and the usual
 * AWS credentials.
 */

export async function grantsListCommand(options: GrantsOptions, io: CliIo): Promise<void> {
  const grants = await (await source(options, io)).list(options.all === true)
  if (options.json) {
    const rows = grants.map(
      ({ id, target, targets, requester, principal, status, requestedAt, expiresAt }) => ({
        id,
        target,
        targets: targets ?? [target],
        requester,
        principal,
        status,
        requestedAt,
        expiresAt: expiresAt ?? null,
      }),
    )
    io.out(`${JSON.stringify(rows, null, 2)}\n`)
    return
  }
  if (grants.length === 0) {
    io.out(options.all ? 'no grants\n' : 'no live grants (keyless grants list --all shows ended ones too)\n')
    return
  }
  const rows = grants.map((grant) => [
    grant.id,
    grantTargets(grant).join(','),
    grant.requester,
    grant.principal,
    grant.status,
    grant.requestedAt,
    grant.expiresAt ?? '-',
  ])
  io.out(table(['ID', 'TARGET', 'REQUESTER', 'PRINCIPAL', 'STATUS', 'REQUESTED', 'EXPIRES'], rows))
}

export async function grantsShowCommand(id: string, options: GrantsOptions, io: CliIo): Promise<void> {
  const grant = await (await source(options, io)).show(checkedId(id))
  if (!grant) throw new KeylessError('GRANT_NOT_FOUND', `There is no grant ${id}.`)
  if (options.json) {
    // Where the grant's policies are while it may hold access: one per account.
    const attachments = mayHoldAccess(grant.status)
      ? grantPlacements(grant).map(({ account, principal }) => ({
          account,
          principal,
          policyName: grantPolicyName(grant.id),
        }))
      : []
    io.out(`${JSON.stringify({ ...grant, targets: grantTargets(grant), attachments }, null, 2)}\n`)
    return
  }
  const lines = [
    `${grant.id}  ${grant.status}${grant.breakGlass ? '  (break-glass: marked for review)' : ''}`,
    `  ${grant.targets ? 'targets' : 'target '}     ${grantTargets(grant).join(', ')} for ${formatDuration(grant.durationSeconds)}`,
    `  requester   ${grant.requester} as ${grant.principal}`,
    `  reason      ${grant.reason || '(none)'}`,
    `  approvers   ${grant.approvers.join(', ') || '(none)'}; ${grant.requiredApprovals} needed`,
    `  requested   ${grant.requestedAt} (decide by ${grant.decideBy})`,
    ...(grant.activatedAt ? [`  active      ${grant.activatedAt} until ${grant.expiresAt}`] : []),
    ...(grant.endedAt ? [`  ended       ${grant.endedAt}`] : []),
    '  history',
    ...grant.history.map(
      (entry) =>
        `    ${entry.at}  ${entry.action.padEnd(27)} ${describeActor(entry.actor).padEnd(22)} ${entry.from ?? '-'} → ${entry.to}${entry.detail ? `  ${entry.detail}` : ''}`,
    ),
    ...sessionLines(grant),
  ]
  io.out(`${lines.join('\n')}\n`)
}

/** The post-grant report: every access CloudTrail recorded under the grant, oldest first. */
function sessionLines(grant: Grant): string[] {
  if (!grant.activatedAt) return []
  const sessions = sessionsOf(grant)
  if (sessions.length === 0) return ['  sessions    none recorded (CloudTrail delivers within minutes)']
  return [
    '  sessions',
    ...sessions.map(
      (session) =>
        `    ${session.at}  ${session.eventName.padEnd(27)} ${session.instances.join(',') || '-'}  from ${session.sourceIPAddress ?? '?'}  ${session.mfa ? 'MFA' : 'no MFA'}  ${session.principal}${session.rules.length ? `  ${session.rules.join(',')}` : ''}`,
    ),
  ]
}

export async function grantsRevokeCommand(
  id: string | undefined,
  options: GrantsOptions,
  io: CliIo,
): Promise<void> {
  if (options.all || options.target) return revokeTargetCommand(id, options, io)
  if (!id) {
    throw new KeylessError(
      'INVALID_ARGUMENTS',
      'name a grant id (keyless grants revoke g-7kq2m9x4ab), or --all --target <t> to end every live grant on a target',
    )
  }
  const grant = await (await source(options, io)).revoke(checkedId(id), options.reason)
  io.out(
    `revoking ${grant.id} (${grantTargets(grant).join(', ')} for ${grant.requester}, ${grant.principal}): the policy is removed and open sessions on the target are ended within seconds\n`,
  )
}

/** `keyless grants deny <id>`: an operator ends one pending request; the requester is told why. */
export async function grantsDenyCommand(id: string, options: GrantsOptions, io: CliIo): Promise<void> {
  const grant = await (await source(options, io)).deny(checkedId(id), options.reason)
  io.out(
    `denied ${grant.id} (${grantTargets(grant).join(', ')} for ${grant.requester}); the requester is told\n`,
  )
}

/** `keyless grants revoke --all --target <t>`: an incident's cut-off, sessions included. */
async function revokeTargetCommand(id: string | undefined, options: GrantsOptions, io: CliIo): Promise<void> {
  if (id || !options.all || !options.target) {
    throw new KeylessError(
      'INVALID_ARGUMENTS',
      'to end every live grant on a target, give --all and --target <t> and no grant id',
    )
  }
  const reason = options.reason ?? `every grant on ${options.target} ended by an operator`
  const ended = await (await source(options, io)).revokeTarget(options.target, reason)
  if (options.json) io.out(`${JSON.stringify(ended, null, 2)}\n`)
  else if (ended.length === 0) io.out(`no live grants on ${options.target}\n`)
  else {
    const rows = ended.map((grant) => [
      grant.id,
      grant.requester,
      grant.principal,
      `${grant.was} → ${grant.status}${grant.status === 'ACTIVE' || grant.status === 'APPROVED' ? ' (revoking)' : ''}`,
      grant.error
        ? `not removed here: ${grant.error}; the workflow and the reconciler keep at it`
        : grant.accessRemoved
          ? `policy removed, ${grant.sessionsTerminated} session(s) ended`
          : 'no access was attached',
    ])
    io.out(`ended ${ended.length} grant(s) on ${options.target}:\n`)
    io.out(table(['ID', 'REQUESTER', 'PRINCIPAL', 'STATUS', 'ACCESS'], rows))
  }
  const failed = ended.filter((grant) => grant.error)
  if (failed.length > 0) {
    throw new KeylessError(
      'NOT_ALL_REMOVED',
      `${failed.length} of ${ended.length} grant(s) on ${options.target} still need their access removed: ${failed.map((grant) => grant.id).join(', ')}`,
    )
  }
}

/** `keyless doctor`: what is wrong with the plane; exit 1 if anything is. */
export async function doctorCommand(options: GrantsOptions, io: CliIo): Promise<void> {
  // With --stack, the stack's outputs name the table and the workflow, and the deployment itself is checked first.
  const deployed = options.stack
    ? await (await import('./grants-table.ts')).checkStack(options.stack, options, io)
    : undefined
  const report = await (await source(deployed?.options ?? options, io)).doctor()
  const problems = report.problems + (deployed?.checks.filter((check) => !check.ok).length ?? 0)
  if (options.json) {
    io.out(
      `${JSON.stringify(deployed ? { deployment: deployed.checks, ...report, problems } : report, null, 2)}\n`,
    )
  } else {
    if (deployed) io.out(deploymentText(options.stack ?? '', deployed.checks))
    io.out(doctorText(report))
  }
  if (problems > 0) {
    throw new KeylessError('DOCTOR_FOUND_PROBLEMS', `the doctor found ${problems} problem(s)`)
  }
}

function deploymentText(stack: string, checks: DeploymentCheck[]): string {
  const lines = [`deployment ${stack}:`]
  for (const { check, ok, detail } of checks)
    lines.push(`  ${ok ? 'ok     ' : 'PROBLEM'}  ${check}: ${detail}`)
  return `${lines.join('\n')}\n`
}

function doctorText(report: DoctorReport): string {
  const lines = [`orphan keyless-* policies: ${report.orphanPolicies.length}`]
  for (const orphan of report.orphanPolicies) {
    lines.push(
      `  ${orphan.policyName} on ${orphan.principal}: ${orphan.grantId ? `its grant is ${orphan.grantStatus}` : 'no grant has this id'}`,
    )
  }
  for (const { principal, detail } of report.unreadPrincipals) {
    lines.push(`  could not read ${principal}: ${detail}`)
  }
  if (report.accountsNotChecked.length > 0) {
    lines.push(
      `  not read from here: ${report.accountsNotChecked.join(', ')} (keyless acts there through its agent roles, which trust keyless's own roles; the reconciler sweeps them)`,
    )
  }
  lines.push(`grant roles the config places: ${report.grantRoles.length}`)
  for (const role of report.grantRoles) {
    const held = role.policies === null ? 'not read' : `${role.policies.length} keyless-* policies`
    lines.push(`  ${role.roleArn} (${role.person}): ${held}`)
  }
  if (report.grantsWithoutExecution === null) {
    lines.push(
      'live grants without a running execution: not checked (give --state-machine <StateMachineArn>)',
    )
  } else {
    lines.push(`live grants without a running execution: ${report.grantsWithoutExecution.length}`)
    for (const grant of report.grantsWithoutExecution) {
      lines.push(
        `  ${grant.grantId} ${grant.status}: ${grant.latestExecution ? `its execution ${grant.latestExecution} has ended` : 'it has no execution'}`,
      )
    }
  }
  lines.push(`REVOKE_FAILED grants: ${report.revokeFailed.length}`)
  for (const grant of report.revokeFailed) {
    lines.push(
      `  ${grant.grantId} on ${grant.target}, ${grant.principal}: ${grant.reason ?? 'no reason recorded'}`,
    )
  }
  lines.push(
    report.unsentAlerts === null
      ? 'unsent security alerts: not checked'
      : `unsent security alerts: ${report.unsentAlerts}`,
  )
  if (report.problems > 0) {
    lines.push(
      '',
      'The reconciler removes orphan policies, restarts lost executions and retries failed removals every few minutes; a REVOKE_FAILED grant that stays needs its policy removed by hand (see README "Operating it").',
    )
  }
  return `${lines.join('\n')}\n`
}

function checkedId(id: string): string {
  if (!GRANT_ID_PATTERN.test(id))
    throw new KeylessError('INVALID_GRANT_ID', `"${id}" is not a grant id, e.g. g-7kq2m9x4ab`)
  return id
}

async function source(options: GrantsOptions, io: CliIo): Promise<GrantsSource> {
  if (options.table) {
    // The AWS clients load only for a deployed table.
    const { tableSource } = await import('./grants-table.ts')
    return tableSource({ ...options, table: options.table }, io)
  }
  return localSource(dataDirOf(io.env))
}

// ---------------------------------------------------------------------------------------------
// The local control plane, through its operator API.

async function localSource(dataDir: string): Promise<GrantsSource> {
  const record = await runningControlPlane(dataDir)
  if (!record) {
    throw new KeylessError(
      'NO_CONTROL_PLANE',
      `no local control plane is running with its data in ${dataDir}/ (start it with npm start, set KEYLESS_DATA_DIR to its folder, or name a deployed table with --table)`,
    )
  }
  const call = operatorCall(record)
  /** An operator's action on one grant (`revoke`, `deny`), recorded with this user as the actor. */
  const act = async (verb: 'revoke' | 'deny', id: string, reason: string | undefined): Promise<Grant> => {
    const body = await call(`/operator/grants/${id}/${verb}`, {
      method: 'POST',
      body: JSON.stringify({ operator: localOperator(), ...(reason ? { reason } : {}) }),
    })
    if (body === undefined) throw new KeylessError('GRANT_NOT_FOUND', `There is no grant ${id}.`)
    return grantSchema.parse(body)
  }
  return {
    list: async (all) => z.array(grantSchema).parse(await call(`/operator/grants${all ? '?all=1' : ''}`)),
    show: async (id) => {
      const body = await call(`/operator/grants/${id}`)
      return body === undefined ? undefined : grantSchema.parse(body)
    },
    revoke: (id, reason) => act('revoke', id, reason),
    deny: (id, reason) => act('deny', id, reason),
    // The plane's own answers, trusted as the grants are: it is this user's process on loopback.
    revokeTarget: async (target, reason) =>
      (await call(`/operator/targets/${encodeURIComponent(target)}/revoke`, {
        method: 'POST',
        body: JSON.stringify({ operator: localOperator(), reason }),
      })) as TargetRevocation[],
    doctor: async () => (await call('/operator/doctor')) as DoctorReport,
  }
}

/** Who runs the CLI on this machine: what the grant's history records for a local revoke. */
function localOperator(): string {
  return `${userInfo().username}@${hostname()}`
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}
