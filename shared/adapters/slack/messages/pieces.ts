import type { ActionsBlock, Button, KnownBlock, SectionBlock } from '@slack/types'
import { formatDuration } from '../../../core/config/duration.ts'
import type { TargetConfig } from '../../../core/config/schema.ts'
import { type Actor, type Grant, grantTargets, type HistoryEntry } from '../../../core/grants/grant.ts'
import { describeStillNeeded, STATUS_WORDS } from '../../../core/grants/lifecycle.ts'
import { ACTIONS } from '../actions.ts'
import { dateFallbacks, mention, quoted, slackDate, truncate } from '../text.ts'

export interface SlackMessage {
  /** The notification and screen-reader text; Slack shows blocks where it can. */
  text: string
  blocks: KnownBlock[]
}

/** Pieces. */

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
      return grant.approvalRules
        ? `:hourglass: Waiting for approvals (${describeStillNeeded(grant)}), until ${slackDate(grant.decideBy)}.`
        : `:hourglass: Waiting for ${grant.requiredApprovals - grant.approvals.length} approval(s), until ${slackDate(grant.decideBy)}.`
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

export const plainStatus = (grant: Grant) => STATUS_WORDS[grant.status]

/** The grant's targets as a person reads them: `prod-db`, or `prod-db, prod-cache`. */
export const targetNames = (grant: Pick<Grant, 'target' | 'targets'>): string =>
  grantTargets(grant).join(', ')

export function grantLine(grant: Grant, now: Date): string {
  const when =
    grant.status === 'ACTIVE'
      ? ` until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'} (${timeLeft(grant, now)} left)`
      : ` · asked ${slackDate(grant.requestedAt)}`
  return `\`${grant.id}\` *${targetNames(grant)}* ${formatDuration(grant.durationSeconds)} — ${grant.status}${when}`
}

/** Seconds an extension may still add: up to the target's maximum counted from activation. */
export function timeLeft(grant: Grant, now: Date): string {
  const seconds = grant.expiresAt ? Math.round((Date.parse(grant.expiresAt) - now.getTime()) / 1000) : 0
  if (seconds <= 0) return 'no time'
  // Minutes are what a person plans with; seconds only in the last minute.
  return formatDuration(seconds >= 60 ? Math.round(seconds / 60) * 60 : seconds)
}

export function who(actor: Actor): string {
  if (actor.kind === 'slack') return mention(actor.id)
  if (actor.kind === 'operator') return `operator \`${quoted(actor.id)}\``
  return `keyless (${actor.id})`
}

export const describeBy = (entry: HistoryEntry) => `${who(entry.actor)} ${slackDate(entry.at)}`

export function decisionButtons(
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

export function revokeButton(grantId: string, label: string): Button {
  return dangerButton(ACTIONS.revoke, label, grantId, {
    title: 'Revoke access?',
    text: 'The policy is removed and open sessions on the target are ended.',
    confirm: 'Revoke',
  })
}

/** A red button that asks "are you sure?" first: for what cannot be taken back. */
export function dangerButton(
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

export const header = (text: string): KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, 150) },
})
export const section = (text: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, 3000) },
})
/**
 * Lines under a title (if any), as many as fit a section's 3,000 characters — and no more than
 * `maxLines` — with room for the count of the rest: a list of hundreds still posts whole lines and
 * says how many it left out (cut mid-line by `section`, it would lose that count).
 */
export function fittedList(
  title: string | undefined,
  lines: string[],
  more: (left: number) => string,
  maxLines = Number.POSITIVE_INFINITY,
): SectionBlock {
  const head = title === undefined ? [] : [title]
  const budget = 3000 - (title?.length ?? 0) - more(lines.length).length - 2
  let used = 0
  const shown: string[] = []
  for (const line of lines) {
    used += line.length + 1
    if (used > budget || shown.length === maxLines) break
    shown.push(line)
  }
  const left = lines.length - shown.length
  return section([...head, ...shown, ...(left > 0 ? [more(left)] : [])].join('\n'))
}
export const field = (title: string, value: string) => ({
  type: 'mrkdwn' as const,
  text: truncate(`*${title}*\n${value}`, 2000),
})
export const context = (text: string): KnownBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }],
})
/** A one-section message; its notification text shows dates as UTC, as a phone cannot render them. */
export const message = (text: string): SlackMessage => ({
  text: dateFallbacks(text),
  blocks: [section(text)],
})
