import type { Verdict } from '../../../core/alerts/evaluate.ts'
import type { Severity } from '../../../core/alerts/rules.ts'
import type { AuditChanges, KeptFinding } from '../../../core/audit/audit.ts'
import { formatDuration } from '../../../core/config/duration.ts'
import type { Grant } from '../../../core/grants/grant.ts'
import type { Notice, ReconcileFinding } from '../../../core/notify/notifier.ts'
import { mention, quoted, slackDate, truncate } from '../text.ts'

import { context, field, fittedList, header, type SlackMessage, section, targetNames } from './pieces.ts'

/** The security channel. */

export function breakGlassAlert(grant: Grant): SlackMessage {
  return {
    text: `Break-glass access: ${grant.requester} on ${targetNames(grant)}`,
    blocks: [
      header(`:rotating_light: Break-glass access · ${targetNames(grant)}`),
      section(
        `${mention(grant.requester)} took *${formatDuration(grant.durationSeconds)}* on *${targetNames(grant)}* without approval, as \`${grant.principal}\`, until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'expiry'}.`,
      ),
      section(`*Reason*\n>${quoted(grant.reason)}`),
      context(
        `Grant \`${grant.id}\` is marked for review. Revoke it with \`/access revoke ${grant.id}\` or \`keyless grants revoke ${grant.id}\`.`,
      ),
    ],
  }
}

export function revocationFailedAlert(grant: Grant, reason: string): SlackMessage {
  return {
    text: `REVOKE_FAILED: ${grant.principal} may still hold access to ${targetNames(grant)}`,
    blocks: [
      header(`:warning: Access could not be removed · ${targetNames(grant)}`),
      section(
        `keyless could not remove grant \`${grant.id}\` from \`${grant.principal}\` (${mention(grant.requester)}): ${quoted(truncate(reason, 1000))}`,
      ),
      context(
        `The policy \`keyless-${grant.id}\` stops working at ${grant.expiresAt ?? 'its expiry'} by its own condition. The reconciler retries; to act now, remove it by hand and run \`keyless grants show ${grant.id}\`.`,
      ),
    ],
  }
}

const FINDING_WORDS: Record<ReconcileFinding['what'], string> = {
  'expired-access-removed': 'access left after expiry or revocation removed',
  'orphan-policy-removed': 'policy with no live grant removed',
  'stuck-activation-failed': 'approved grant never activated: failed',
  'stuck-request-timed-out': 'undecided request timed out',
  'revocation-retried': 'failed removal retried',
  'execution-restarted': 'lost workflow execution started again',
  'repair-failed': 'repair failed',
}

export function reconciledAlert(findings: ReconcileFinding[]): SlackMessage {
  const lines = findings.map(
    (finding) =>
      `• ${FINDING_WORDS[finding.what]}: \`${finding.principal}\`${finding.grantId ? ` grant \`${finding.grantId}\`` : ''}${finding.policyName ? ` policy \`${finding.policyName}\`` : ''} — ${quoted(truncate(finding.detail, 300))}`,
  )
  return {
    text: `keyless reconciler repaired ${findings.length} thing(s)`,
    blocks: [
      header(':wrench: keyless reconciler'),
      fittedList(undefined, lines, (left) => `…and ${left} more (see the reconciler's log).`),
    ],
  }
}

/** The alert path's heartbeat: silent too long, or back. */
export function alertPathAlert(notice: Extract<Notice, { kind: 'alert-path' }>): SlackMessage {
  if (notice.state === 'back') {
    return {
      text: 'keyless alerts: the CloudTrail path is back',
      blocks: [
        header(':large_green_circle: Alert path back'),
        section(
          `Heartbeats from ${notice.path} reach the alert function again (the latest recorded ${notice.lastSeenAt ? slackDate(notice.lastSeenAt) : 'just now'}), after the silence reported ${slackDate(notice.since)}.`,
        ),
        context(
          'Access in between was recorded by CloudTrail and is judged as its events arrive; anything CloudTrail did not record (a trail stopped meanwhile) is not. Replay the trail for that window through keyless check-event.',
        ),
      ],
    }
  }
  return {
    text: `keyless alerts: no heartbeat through CloudTrail from ${notice.path} for 30 minutes`,
    blocks: [
      header(':red_circle: Alert path silent'),
      section(
        `No heartbeat from ${notice.path} has reached the alert function since ${slackDate(notice.since)}${notice.lastSeenAt ? '' : ' (none has arrived yet)'}: access to instances there may be going unseen.`,
      ),
      context(
        "Check, in that account and region, that a trail is logging (TRAIL_TAMPERED alerts say if someone stopped it) and the rule keyless-watched-events is enabled (disabling it hides its own event); at home, that the alert function runs: keyless doctor --stack Keyless checks the home region's.",
      ),
    ],
  }
}

/** The scheduled audit's changes: the holes opened, those closed, the accounts it could not look at. */
export function auditAlert(changes: AuditChanges): SlackMessage {
  const line = (finding: KeptFinding) =>
    `• \`${quoted(finding.principal)}\` on *${finding.target}* (account ${finding.account}): ${finding.actions.map((action) => action.split(':')[1]).join(', ')}`
  const findings = (title: string, list: KeptFinding[]) =>
    fittedList(title, list.map(line), (left) => `…and ${left} more (keyless audit --json lists them).`)
  const title = changes.first
    ? `${changes.standing} standing way(s) onto targets' instances`
    : `${changes.opened.length} opened, ${changes.closed.length} closed`
  return {
    text: `keyless audit: ${title}`,
    blocks: [
      header(
        `${changes.opened.length > 0 ? ':red_circle:' : ':large_green_circle:'} Standing access · ${title}`,
      ),
      ...(changes.opened.length > 0
        ? [
            findings(
              `*${changes.first ? 'Found' : 'Opened since the last audit'}* (reach without a keyless grant)`,
              changes.opened,
            ),
          ]
        : []),
      ...(changes.closed.length > 0 ? [findings('*Closed*', changes.closed)] : []),
      ...(changes.unaudited.length > 0
        ? [
            fittedList(
              '*Not audited* (their last findings are kept):',
              changes.unaudited.map(
                ({ account, reason }) => `• account ${account}: ${quoted(truncate(reason, 300))}`,
              ),
              (left) => `…and ${left} more accounts (the audit function's log names each).`,
            ),
          ]
        : []),
      ...(changes.orphanGrantRoles.length > 0
        ? [
            fittedList(
              '*Grant roles of people no longer in the config* (keyless will not write or clean them; delete them):',
              changes.orphanGrantRoles.map((arn) => `• \`${quoted(arn)}\``),
              (left) => `…and ${left} more (keyless audit --json lists them).`,
            ),
          ]
        : []),
      context(
        `${changes.standing} standing in all. Remove the policy each names (keyless audit shows the policy), or list the principal in audit.accepted if the team keeps it on purpose.`,
      ),
    ],
  }
}

const SEVERITY_MARK: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
}

/**
 * One access event's alert for the security channel: who (the person and the principal),
 * which instance and target, from where, with MFA or not, the rules it raised, the grant if
 * any, and what to do. Everything from the CloudTrail record is shown as data (escaped).
 */
export function securityAlert(verdict: Verdict): SlackMessage {
  // Worst first: the header is what a phone's notification shows.
  const findings = [...verdict.findings].sort((a, b) => bySeverity(a.severity, b.severity))
  const rules = findings.map((finding) => finding.rule)
  const where = verdict.target ?? verdict.instances[0] ?? verdict.subject ?? 'no instance named'
  const principal = `\`${quoted(verdict.principal ?? 'unknown principal')}\``
  const who = verdict.people.length
    ? `${verdict.people.map(mention).join(', ')} as ${principal}`
    : `${principal}, not a principal of any person in keyless's config`
  const worst = findings[0]?.severity ?? 'medium'
  return {
    text: `Security alert ${rules.join(', ')}: ${quoted(verdict.principal ?? 'unknown principal')} on ${quoted(where)}`,
    blocks: [
      header(`${SEVERITY_MARK[worst]} ${rules.join(', ')} · ${where}`),
      section(`*Who* ${who}`),
      {
        type: 'section',
        fields: [
          field('Instance', verdict.instances.map((id) => `\`${quoted(id)}\``).join(', ') || '_none named_'),
          // A tunnel's address, a command's tags, the piece of keyless changed.
          ...(verdict.subject ? [field('Named', `\`${quoted(verdict.subject)}\``)] : []),
          field('Target', verdict.target ? `*${verdict.target}*` : '_none: no configured target’s tag_'),
          field('From', quoted(verdict.sourceIPAddress ?? 'unknown')),
          field('MFA', verdict.mfa ? 'yes' : '*no*'),
          field(
            'Event',
            `${quoted(verdict.eventName)} in ${quoted(verdict.region ?? 'an unknown region')}, account ${quoted(verdict.account ?? 'unknown')}${verdict.denied ? `, refused (${quoted(verdict.denied)})` : ''}`,
          ),
          field('When', slackDate(verdict.eventTime)),
          field('Grant', verdict.grantId ? `\`${verdict.grantId}\`` : '_none_'),
        ],
      },
      ...findings.map((finding) =>
        section(
          `${SEVERITY_MARK[finding.severity]} *${finding.rule}* (${finding.severity}): ${quoted(finding.detail)}\n_What to do:_ ${quoted(finding.action)}`,
        ),
      ),
      context(`CloudTrail event \`${quoted(verdict.eventId)}\``),
    ],
  }
}

const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium']
const bySeverity = (a: Severity, b: Severity) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b)
