import type { Partition } from '../aws/arn.ts'
import { type Clock, isoSeconds } from '../clock.ts'
import type { Warn } from '../log.ts'
import type { Notifier } from '../notify/notifier.ts'
import {
  type AccountAudit,
  type AuditChanges,
  type AuditTarget,
  auditAccount,
  type KeptFinding,
  type PolicySimulator,
} from './audit.ts'
import type { AccountAuthorization } from './authorization.ts'

/**
 * The scheduled audit: every configured account audited (weekly by default, `audit.schedule`),
 * and what changed since the last run posted to the security channel — the holes opened and the
 * ones closed; the first run posts what it found. An account that cannot be audited this time
 * keeps its last findings (nothing is called closed for want of a look) and is named in the post.
 */

/** What the audit of one account needs, read when it runs. */
export interface AccountSource {
  account: string
  /** The Slack user ids whose grant roles the config places in this account. */
  grantRolePeople: ReadonlySet<string>
  read(): Promise<{ authorization: AccountAuthorization; targets: AuditTarget[]; simulator: PolicySimulator }>
}

export interface AuditRun {
  at: string
  /** The standing findings: what the next run compares with (grants and accepted ones are not). */
  findings: KeptFinding[]
  /** Grant roles of people the config no longer places (absent in runs before they were kept). */
  orphanGrantRoles?: string[]
}

export interface AuditRuns {
  last(): Promise<AuditRun | undefined>
  save(run: AuditRun): Promise<void>
}

export interface ScheduledAuditDeps {
  partition: Partition
  accepted: string[]
  sources: AccountSource[]
  runs: AuditRuns
  notifier: Notifier
  clock: Clock
  warn: Warn
}

export async function scheduledAudit(deps: ScheduledAuditDeps): Promise<AuditChanges> {
  const previous = await deps.runs.last()
  const findings: KeptFinding[] = []
  const orphans: string[] = []
  const unaudited: AuditChanges['unaudited'] = []
  for (const source of deps.sources) {
    let audit: AccountAudit
    try {
      const { authorization, targets, simulator } = await source.read()
      audit = await auditAccount(
        {
          account: source.account,
          partition: deps.partition,
          authorization,
          targets,
          accepted: deps.accepted,
          grantRolePeople: source.grantRolePeople,
        },
        simulator,
      )
    } catch (error) {
      deps.warn('could not audit an account', { account: source.account, error })
      unaudited.push({
        account: source.account,
        reason: error instanceof Error ? error.message : String(error),
      })
      findings.push(...(previous?.findings ?? []).filter((finding) => finding.account === source.account))
      orphans.push(
        ...(previous?.orphanGrantRoles ?? []).filter((arn) => arn.split(':')[4] === source.account),
      )
      continue
    }
    orphans.push(...audit.orphanGrantRoles)
    findings.push(
      ...audit.findings
        .filter((finding) => finding.kind === 'standing')
        .map(({ principal, account, target, kind, actions }) => ({
          principal,
          account,
          target,
          kind,
          actions,
        })),
    )
  }
  const changes = { ...changesSince(previous?.findings, findings, unaudited), orphanGrantRoles: orphans }
  const orphansChanged = orphans.join() !== (previous?.orphanGrantRoles ?? []).join()
  if (
    changes.first ||
    changes.opened.length > 0 ||
    changes.closed.length > 0 ||
    unaudited.length > 0 ||
    orphansChanged
  ) {
    await deps.notifier.send({ kind: 'audit-changed', changes })
  }
  // Saved once told: a post that failed is made again by the next run.
  await deps.runs.save({ at: isoSeconds(deps.clock.now()), findings, orphanGrantRoles: orphans })
  return changes
}

const keyOf = (finding: KeptFinding) => `${finding.account}|${finding.target}|${finding.principal}`

export function changesSince(
  previous: KeptFinding[] | undefined,
  now: KeptFinding[],
  unaudited: AuditChanges['unaudited'] = [],
): AuditChanges {
  const standing = (list: KeptFinding[]) =>
    new Map(list.filter((finding) => finding.kind === 'standing').map((finding) => [keyOf(finding), finding]))
  const before = standing(previous ?? [])
  const after = standing(now)
  const opened = [...after.values()].filter((finding) => {
    const was = before.get(keyOf(finding))
    return !was || finding.actions.some((action) => !was.actions.includes(action))
  })
  const closed = [...before.values()].filter((finding) => !after.has(keyOf(finding)))
  return {
    opened,
    closed,
    standing: after.size,
    unaudited,
    first: previous === undefined,
    orphanGrantRoles: [],
  }
}
