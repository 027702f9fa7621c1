import type { ActionsBlock, Button, HomeView, KnownBlock, SectionBlock } from '@slack/types'
import type { Verdict } from '../../core/alerts/evaluate.ts'
import type { Severity } from '../../core/alerts/rules.ts'
import { isoSeconds } from '../../core/clock.ts'
import { formatDuration } from '../../core/config/duration.ts'
import type { KeylessConfig, TargetConfig } from '../../core/config/schema.ts'
import {
  type Actor,
  type Grant,
  type HistoryEntry,
  type SlackMessageRef,
  sessionsOf,
} from '../../core/grants/grant.ts'
import { extensionRoom, STATUS_WORDS } from '../../core/grants/lifecycle.ts'
import type { ReconcileFinding } from '../../core/notify/notifier.ts'
import { ACTIONS, extendValue } from './actions.ts'
import { EXAMPLES } from './command.ts'
import { dateFallbacks, mention, mrkdwn, quoted, slackDate, truncate } from './text.ts'

/**
 * Every message and view keyless shows in Slack, as pure functions of the grant, the config
 * and the time: building is separate from sending (the notifier and the listeners send), and
 * each is golden-tested. Typed text is escaped wherever it lands in mrkdwn; ids and times come
 * from the grant, never from what a person typed.
 */

export interface SlackMessage {
  /** The notification and screen-reader text; Slack shows blocks where it can. */
  text: string
  blocks: KnownBlock[]
}

// ---------------------------------------------------------------------------------------------
// Approval messages: one copy per approver (and the approval channel), updated after decisions.

/** The request or extension a copy asks about, in its current state. */
export function approvalCopy(
  grant: Grant,
  ref: Pick<SlackMessageRef, 'asks' | 'extensionRequestedAt'>,
  target?: TargetConfig,
): SlackMessage {
  return ref.asks === 'extension'
    ? extensionRequest(grant, ref.extensionRequestedAt)
    : approvalRequest(grant, target)
}

export function approvalRequest(grant: Grant, target?: TargetConfig): SlackMessage {
  const approved = grant.approvals.map((approval) => `${mention(approval.by)} ${slackDate(approval.at)}`)
  const blocks: KnownBlock[] = [
    header(`${grant.breakGlass ? 'Break-glass access' : 'Access request'} · ${grant.target}`),
    section(
      `${mention(grant.requester)} asks for *${formatDuration(grant.durationSeconds)}* on *${grant.target}*${target?.description ? ` (${mrkdwn(target.description)})` : ''}.`,
    ),
    {
      type: 'section',
      fields: [
        field('Principal', `\`${grant.principal}\``),
        field('Access', target ? describeAccess(target) : '_target no longer configured_'),
        field('Duration', `${formatDuration(grant.durationSeconds)}, from when access is attached`),
        field('Requested', slackDate(grant.requestedAt)),
        field(
          'Approvals needed',
          `${grant.requiredApprovals} of ${grant.approvers.map(mention).join(', ') || '_nobody_'}`,
        ),
        field('Decide by', slackDate(grant.decideBy)),
      ],
    },
    section(`*Reason*\n${grant.reason ? `>${quoted(grant.reason)}` : '_none given_'}`),
  ]
  if (grant.status === 'PENDING') {
    if (approved.length > 0) {
      blocks.push(
        context(
          `:white_check_mark: Approved by ${approved.join(', ')}; waiting for ${grant.requiredApprovals - approved.length} more.`,
        ),
      )
    }
    blocks.push(decisionButtons(grant.id, ACTIONS.approve, ACTIONS.deny, 'Approve', 'Deny'))
  } else {
    blocks.push(section(outcome(grant)))
  }
  blocks.push(context(`Grant \`${grant.id}\``))
  return {
    text: `${mention(grant.requester)} asks for ${formatDuration(grant.durationSeconds)} on ${grant.target}${grant.status === 'PENDING' ? '' : ` — ${plainStatus(grant)}`}`,
    blocks,
  }
}

export function extensionRequest(grant: Grant, requestedAt: string | undefined): SlackMessage {
  const pending =
    grant.status === 'ACTIVE' && grant.extension !== undefined && grant.extension.requestedAt === requestedAt
  const decision = grant.history.find(
    (entry) =>
      requestedAt !== undefined &&
      entry.at >= requestedAt &&
      (entry.action === 'extended' || entry.action === 'extension-denied'),
  )
  const asked = grant.history.find(
    (entry) => entry.action === 'extension-requested' && entry.at === requestedAt,
  )?.detail
  const blocks: KnownBlock[] = [
    header(`Extension request · ${grant.target}`),
    section(
      `${mention(grant.requester)} asks for *${asked ?? 'more time'}* on *${grant.target}*, active until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'its expiry'} (at most ${formatDuration(grant.maxDurationSeconds)} from activation).`,
    ),
  ]
  if (pending) {
    const approved =
      grant.extension?.approvals.map((approval) => `${mention(approval.by)} ${slackDate(approval.at)}`) ?? []
    if (approved.length > 0)
      blocks.push(context(`:white_check_mark: Approved by ${approved.join(', ')}; waiting for more.`))
    blocks.push(
      decisionButtons(grant.id, ACTIONS.approveExtension, ACTIONS.denyExtension, 'Approve extension', 'Deny'),
    )
  } else if (decision) {
    blocks.push(
      section(
        decision.action === 'extended'
          ? `:white_check_mark: Extended ${decision.detail ? mrkdwn(decision.detail) : ''} (${describeBy(decision)}).`
          : `:no_entry: Extension denied by ${describeBy(decision)}.`,
      ),
    )
  } else {
    blocks.push(section(`The grant ${plainStatus(grant)} before the extension was decided.`))
  }
  blocks.push(context(`Grant \`${grant.id}\``))
  return { text: `${mention(grant.requester)} asks for more time on ${grant.target}`, blocks }
}

export function approvalReminder(grant: Grant): SlackMessage {
  return message(
    `:bell: Reminder: ${mention(grant.requester)} is waiting for a decision on *${grant.target}* (${formatDuration(grant.durationSeconds)}, grant \`${grant.id}\`). It ends undecided ${slackDate(grant.decideBy)}.`,
  )
}

// ---------------------------------------------------------------------------------------------
// What the requester hears.

export function accessActive(grant: Grant, instructions: string[]): SlackMessage {
  const [summary, ...commands] = instructions
  const blocks: KnownBlock[] = [
    section(
      `:unlock: *${grant.target}* is yours until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'expiry'} (grant \`${grant.id}\`). ${summary ? mrkdwn(summary) : ''}`,
    ),
    ...commands.map((block) => {
      // An instruction is a title, its commands (indented) and perhaps a note after them.
      const [title = '', ...lines] = block.split('\n')
      const code = lines.filter((line) => line.startsWith('  ')).map((line) => line.trim())
      const notes = lines.filter((line) => !line.startsWith('  '))
      return section([mrkdwn(title), `\`\`\`${code.join('\n')}\`\`\``, ...notes.map(mrkdwn)].join('\n'))
    }),
    context(`${outcome(grant)} \`/access revoke ${grant.id}\` when you are done.`),
    {
      type: 'actions',
      elements: [revokeButton(grant.id, "I'm done: revoke")],
    },
  ]
  return { text: `Access to ${grant.target} is active until ${grant.expiresAt}`, blocks }
}

/** Five minutes before expiry, with buttons for the extensions that still fit under the maximum. */
export function expiringSoon(grant: Grant, now: Date): SlackMessage {
  const room = extensionRoom(grant)
  const choices = [900, 1800, 3600].filter((seconds) => seconds <= room)
  const blocks: KnownBlock[] = [
    section(
      `:hourglass_flowing_sand: Your access to *${grant.target}* ends ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'soon'} (in ${grant.expiresAt ? formatDuration(Math.max(1, Math.round((Date.parse(grant.expiresAt) - now.getTime()) / 1000))) : 'a few minutes'}); open sessions are ended then.`,
    ),
  ]
  if (choices.length > 0) {
    blocks.push({
      type: 'actions',
      elements: choices.map(
        (seconds): Button => ({
          type: 'button',
          action_id: `${ACTIONS.extend}:${seconds}`,
          text: { type: 'plain_text', text: `Extend +${formatDuration(seconds)}` },
          value: extendValue(grant.id, seconds),
        }),
      ),
    })
    if (!grant.autoApprove) blocks.push(context('An extension is approved like a request.'))
  } else {
    blocks.push(
      context(
        `${grant.target}'s maximum of ${formatDuration(grant.maxDurationSeconds)} from activation leaves no room to extend.`,
      ),
    )
  }
  return { text: `Your access to ${grant.target} ends at ${grant.expiresAt}`, blocks }
}

export function accessExtended(grant: Grant): SlackMessage {
  return message(
    `:white_check_mark: *${grant.target}* is extended: your access now ends ${grant.expiresAt ? slackDate(grant.expiresAt) : 'later'} (grant \`${grant.id}\`).`,
  )
}

export function accessEnded(grant: Grant, sessionsTerminated: number): SlackMessage {
  const ended = endedLine(grant, sessionsTerminated)
  const report = sessionReport(grant)
  return report ? { ...ended, blocks: [...ended.blocks, section(report)] } : ended
}

function endedLine(grant: Grant, sessionsTerminated: number): SlackMessage {
  const why =
    grant.status === 'REVOKED' && grant.revocation
      ? `revoked by ${who(grant.revocation.by)}${grant.revocation.reason ? `: ${quoted(grant.revocation.reason)}` : ''}`
      : 'it expired'
  const sessions =
    sessionsTerminated === 0
      ? 'No session was open.'
      : `${sessionsTerminated} open session${sessionsTerminated === 1 ? ' was' : 's were'} ended.`
  return message(
    `:lock: Your access to *${grant.target}* ended ${grant.endedAt ? slackDate(grant.endedAt) : ''}: ${why}. ${sessions} (grant \`${grant.id}\`)`,
  )
}

/** The accesses CloudTrail recorded under the grant, as far as they have arrived: who, when, where, from where. */
export function sessionReport(grant: Grant, max = 10): string | undefined {
  const sessions = sessionsOf(grant)
  if (sessions.length === 0) return undefined
  const lines = sessions
    .slice(0, max)
    .map(
      (session) =>
        `• ${slackDate(session.at, '{time}')} ${quoted(session.eventName)} on ${session.instances.map((id) => `\`${quoted(id)}\``).join(', ') || '_no instance named_'} from ${quoted(session.sourceIPAddress ?? 'an unknown origin')}${session.mfa ? ', with MFA' : ', *without MFA*'}${session.rules.length ? ` — ${session.rules.join(', ')}` : ''}`,
    )
  if (sessions.length > max)
    lines.push(`…and ${sessions.length - max} more: \`keyless grants show ${grant.id}\``)
  return `*Accesses under this grant* (as CloudTrail has delivered them so far)\n${lines.join('\n')}`
}

export function requestClosed(grant: Grant, reason?: string): SlackMessage {
  const line = outcome(grant)
  return message(
    `Your request for *${grant.target}* (${formatDuration(grant.durationSeconds)}, grant \`${grant.id}\`) is closed. ${line}${reason && grant.status === 'FAILED' ? '' : reason ? ` (${quoted(reason)})` : ''}`,
  )
}

// ---------------------------------------------------------------------------------------------
// The security channel.

export function breakGlassAlert(grant: Grant): SlackMessage {
  return {
    text: `Break-glass access: ${grant.requester} on ${grant.target}`,
    blocks: [
      header(`:rotating_light: Break-glass access · ${grant.target}`),
      section(
        `${mention(grant.requester)} took *${formatDuration(grant.durationSeconds)}* on *${grant.target}* without approval, as \`${grant.principal}\`, until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'expiry'}.`,
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
    text: `REVOKE_FAILED: ${grant.principal} may still hold access to ${grant.target}`,
    blocks: [
      header(`:warning: Access could not be removed · ${grant.target}`),
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
  const lines = findings
    .slice(0, 20)
    .map(
      (finding) =>
        `• ${FINDING_WORDS[finding.what]}: \`${finding.principal}\`${finding.grantId ? ` grant \`${finding.grantId}\`` : ''}${finding.policyName ? ` policy \`${finding.policyName}\`` : ''} — ${quoted(truncate(finding.detail, 300))}`,
    )
  if (findings.length > 20) lines.push(`…and ${findings.length - 20} more (see the reconciler's log).`)
  return {
    text: `keyless reconciler repaired ${findings.length} thing(s)`,
    blocks: [header(':wrench: keyless reconciler'), section(lines.join('\n'))],
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
  const where = verdict.target ?? verdict.instances[0] ?? 'no instance named'
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

// ---------------------------------------------------------------------------------------------
// Replies to `/access` (ephemeral, in the command's HTTP response).

export function requestReply(grant: Grant, created: boolean): SlackMessage {
  const again = created ? '' : ' (Slack sent this request twice; it was recorded once.)'
  if (grant.breakGlass) {
    return message(
      `:rotating_light: Break-glass access to *${grant.target}* for ${formatDuration(grant.durationSeconds)} is being attached now; the security channel has been told. Grant \`${grant.id}\`.${again}`,
    )
  }
  if (grant.autoApprove) {
    return message(
      `:white_check_mark: *${grant.target}* is auto-approved: access for ${formatDuration(grant.durationSeconds)} is being attached; you will get a message with how to connect. Grant \`${grant.id}\`.${again}`,
    )
  }
  return message(
    `:inbox_tray: Asked ${grant.approvers.map(mention).join(', ')} for ${formatDuration(grant.durationSeconds)} on *${grant.target}*${grant.requiredApprovals > 1 ? ` (${grant.requiredApprovals} approvals needed)` : ''}. The clock starts when access is attached. Grant \`${grant.id}\`; \`/access cancel ${grant.id}\` to withdraw it.${again}`,
  )
}

export function helpReply(config: KeylessConfig): SlackMessage {
  return message(
    [
      '*keyless* gives you short-lived access to AWS instances, approved by a person.',
      `• \`${EXAMPLES.request}\` — ask for a target for a while, with a reason`,
      `• \`${EXAMPLES.breakGlass}\` — emergency: no approval, the security channel is told`,
      '• `/access list` — your grants · `/access targets` — what you can ask for',
      `• \`${EXAMPLES.revoke}\` — end access now · \`${EXAMPLES.extend}\` — ask for more time`,
      `• \`${EXAMPLES.cancel}\` — withdraw a request still waiting for approval`,
      `Durations: 90s, 30m, 1h30m, 2d. Requests nobody decides end after ${formatDuration(config.approvalTimeoutSeconds)}.`,
    ].join('\n'),
  )
}

export function targetsReply(config: KeylessConfig): SlackMessage {
  const lines = [...config.targets.values()].map(
    (target) =>
      `• *${target.name}*${target.description ? ` — ${mrkdwn(target.description)}` : ''}: ${describeAccess(target)}; up to ${formatDuration(target.maxDurationSeconds)}; ${target.autoApprove ? 'auto-approved' : `${target.approvals} approval${target.approvals > 1 ? 's' : ''}`}`,
  )
  return message(`Targets you may ask for:\n${lines.join('\n')}`)
}

export function listReply(grants: Grant[], now: Date): SlackMessage {
  if (grants.length === 0) return message('You have no grants yet. Try `/access help`.')
  return message(`Your latest grants:\n${grants.map((grant) => `• ${grantLine(grant, now)}`).join('\n')}`)
}

/** A refusal, with the right form underneath when there is one. */
export function refusalReply(text: string, example?: string): SlackMessage {
  return message(`:warning: ${mrkdwn(text)}${example ? `\nFor example: \`${example}\`` : ''}`)
}

/** One line for the person who clicked or typed, after their action took effect. */
export function doneReply(text: string): SlackMessage {
  return message(text)
}

// ---------------------------------------------------------------------------------------------
// App Home.

export interface HomeContents {
  user: string
  active: Grant[]
  pending: Grant[]
  /** Requests and extensions waiting for this user's decision. */
  waiting: Grant[]
  known: boolean
}

const HOME_LIST_LIMIT = 10

export function homeView(contents: HomeContents, now: Date): HomeView {
  const blocks: KnownBlock[] = [header('keyless · just-in-time access')]
  if (!contents.known) {
    blocks.push(
      context(
        'To ask for access yourself you need an AWS principal in the keyless config (`people:`); ask whoever runs keyless.',
      ),
    )
  }
  blocks.push(section('*Your active grants*'))
  if (contents.active.length === 0) blocks.push(context('None.'))
  for (const grant of contents.active.slice(0, HOME_LIST_LIMIT)) {
    blocks.push({
      ...section(
        `*${grant.target}* until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'} (${timeLeft(grant, now)} left)${grant.revocation ? ' · _being revoked_' : ''}\n\`${grant.id}\``,
      ),
      ...(grant.revocation ? {} : { accessory: revokeButton(grant.id, 'Revoke') }),
    })
  }
  blocks.push({ type: 'divider' }, section('*Your pending requests*'))
  if (contents.pending.length === 0) blocks.push(context('None.'))
  for (const grant of contents.pending.slice(0, HOME_LIST_LIMIT)) {
    blocks.push({
      ...section(
        `*${grant.target}* for ${formatDuration(grant.durationSeconds)} · asked ${slackDate(grant.requestedAt)} · ${grant.approvals.length}/${grant.requiredApprovals} approvals\n\`${grant.id}\``,
      ),
      accessory: {
        type: 'button',
        action_id: ACTIONS.cancel,
        text: { type: 'plain_text', text: 'Cancel' },
        value: grant.id,
      },
    })
  }
  if (contents.waiting.length > 0) {
    blocks.push({ type: 'divider' }, section('*Waiting for your decision*'))
    for (const grant of contents.waiting.slice(0, HOME_LIST_LIMIT)) {
      const extension = grant.status === 'ACTIVE' && grant.extension
      blocks.push(
        section(
          extension
            ? `${mention(grant.requester)} asks for *+${formatDuration(extension.durationSeconds)}* on *${grant.target}* (active until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'})\n>${quoted(grant.reason || 'no reason given')}`
            : `${mention(grant.requester)} asks for *${formatDuration(grant.durationSeconds)}* on *${grant.target}* · decide by ${slackDate(grant.decideBy, '{time}')}\n>${quoted(grant.reason || 'no reason given')}`,
        ),
        extension
          ? decisionButtons(
              grant.id,
              ACTIONS.approveExtension,
              ACTIONS.denyExtension,
              'Approve extension',
              'Deny',
            )
          : decisionButtons(grant.id, ACTIONS.approve, ACTIONS.deny, 'Approve', 'Deny'),
      )
    }
  }
  blocks.push(
    { type: 'divider' },
    context(
      `Ask with \`${EXAMPLES.request}\` · \`/access help\` · updated ${slackDate(isoSeconds(now), '{time}')}`,
    ),
  )
  return { type: 'home', blocks }
}

// ---------------------------------------------------------------------------------------------
// Pieces.

/** What a grant on `target` allows, in words. */
export function describeAccess(target: TargetConfig): string {
  return target.access
    .map((kind) => {
      if (kind === 'port-forward') return `port-forward to ${target.ports.join(', ')}`
      if (kind === 'ssh') return `SSH as ${target.osUser}`
      return 'shell'
    })
    .join(' · ')
}

/** How a grant stands, in one mrkdwn line: who decided, and what became of the access. */
export function outcome(grant: Grant): string {
  const entry = (action: HistoryEntry['action']) => grant.history.findLast((item) => item.action === action)
  const approvedBy = () => {
    const breakGlass = entry('break-glass')
    if (breakGlass) return `:rotating_light: Break-glass by ${describeBy(breakGlass)}`
    if (entry('auto-approved')) return ':white_check_mark: Auto-approved'
    const approvals = grant.approvals.map((approval) => `${mention(approval.by)} ${slackDate(approval.at)}`)
    return `:white_check_mark: Approved by ${approvals.join(', ') || 'keyless'}`
  }
  switch (grant.status) {
    case 'PENDING':
      return `:hourglass: Waiting for ${grant.requiredApprovals - grant.approvals.length} approval(s), until ${slackDate(grant.decideBy)}.`
    case 'APPROVED':
      return `${approvedBy()}; access is being attached.`
    case 'ACTIVE':
      return `${approvedBy()}; active until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'expiry'}${grant.revocation ? ', being revoked' : ''}.`
    case 'EXPIRED':
      return `${approvedBy()}; expired ${grant.endedAt ? slackDate(grant.endedAt) : ''}.`
    case 'REVOKED':
      return `${approvedBy()}; revoked by ${grant.revocation ? `${who(grant.revocation.by)} ${slackDate(grant.revocation.at)}` : 'keyless'}.`
    case 'REVOKE_FAILED':
      return `${approvedBy()}; :warning: removing access failed and an operator has been alerted.`
    case 'DENIED': {
      const denied = entry('denied')
      return `:no_entry: Denied${denied ? ` by ${describeBy(denied)}` : ''}${denied?.detail ? `: ${quoted(denied.detail)}` : ''}.`
    }
    case 'CANCELLED': {
      const cancelled = entry('cancelled')
      return `:leftwards_arrow_with_hook: Cancelled${cancelled ? ` by ${describeBy(cancelled)}` : ''}.`
    }
    case 'TIMED_OUT':
      return `:hourglass: Nobody decided in time; the request ended ${grant.endedAt ? slackDate(grant.endedAt) : ''}.`
    case 'FAILED': {
      const failed = entry('activation-failed')
      return `${approvedBy()}, but access could not be attached${failed?.detail ? `: ${quoted(truncate(failed.detail, 500))}` : ''}.`
    }
  }
}

const plainStatus = (grant: Grant) => STATUS_WORDS[grant.status]

function grantLine(grant: Grant, now: Date): string {
  const when =
    grant.status === 'ACTIVE'
      ? ` until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'} (${timeLeft(grant, now)} left)`
      : ` · asked ${slackDate(grant.requestedAt)}`
  return `\`${grant.id}\` *${grant.target}* ${formatDuration(grant.durationSeconds)} — ${grant.status}${when}`
}

/** Seconds an extension may still add: up to the target's maximum counted from activation. */
function timeLeft(grant: Grant, now: Date): string {
  const seconds = grant.expiresAt ? Math.round((Date.parse(grant.expiresAt) - now.getTime()) / 1000) : 0
  if (seconds <= 0) return 'no time'
  // Minutes are what a person plans with; seconds only in the last minute.
  return formatDuration(seconds >= 60 ? Math.round(seconds / 60) * 60 : seconds)
}

function who(actor: Actor): string {
  if (actor.kind === 'slack') return mention(actor.id)
  if (actor.kind === 'operator') return `operator \`${quoted(actor.id)}\``
  return `keyless (${actor.id})`
}

const describeBy = (entry: HistoryEntry) => `${who(entry.actor)} ${slackDate(entry.at)}`

function decisionButtons(
  grantId: string,
  approveId: string,
  denyId: string,
  approve: string,
  deny: string,
): ActionsBlock {
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: approveId,
        style: 'primary',
        text: { type: 'plain_text', text: approve },
        value: grantId,
      },
      dangerButton(denyId, deny, grantId, {
        title: 'Deny?',
        text: 'The requester is told it was you.',
        confirm: 'Deny',
      }),
    ],
  }
}

function revokeButton(grantId: string, label: string): Button {
  return dangerButton(ACTIONS.revoke, label, grantId, {
    title: 'Revoke access?',
    text: 'The policy is removed and open sessions on the target are ended.',
    confirm: 'Revoke',
  })
}

/** A red button that asks "are you sure?" first: for what cannot be taken back. */
function dangerButton(
  actionId: string,
  label: string,
  grantId: string,
  ask: { title: string; text: string; confirm: string },
): Button {
  const plain = (text: string) => ({ type: 'plain_text' as const, text })
  return {
    type: 'button',
    action_id: actionId,
    style: 'danger',
    text: plain(label),
    value: grantId,
    confirm: {
      title: plain(ask.title),
      text: plain(ask.text),
      confirm: plain(ask.confirm),
      deny: plain('Back'),
    },
  }
}

const header = (text: string): KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, 150) },
})
const section = (text: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, 3000) },
})
const field = (title: string, value: string) => ({
  type: 'mrkdwn' as const,
  text: truncate(`*${title}*\n${value}`, 2000),
})
const context = (text: string): KnownBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }],
})
/** A one-section message; its notification text shows dates as UTC, as a phone cannot render them. */
const message = (text: string): SlackMessage => ({ text: dateFallbacks(text), blocks: [section(text)] })
