import type { Button, KnownBlock, SectionBlock } from '@slack/types'
import { formatDuration } from '../../../core/config/duration.ts'
import { type Grant, sessionsOf } from '../../../core/grants/grant.ts'
import { extensionRoom } from '../../../core/grants/lifecycle.ts'
import { ACTIONS, extendValue } from '../actions.ts'
import { mrkdwn, quoted, slackDate } from '../text.ts'

import {
  context,
  fittedList,
  message,
  outcome,
  revokeButton,
  type SlackMessage,
  section,
  targetNames,
  who,
} from './pieces.ts'

/** What the requester hears. */

export function accessActive(grant: Grant, instructions: string[]): SlackMessage {
  const [summary, ...commands] = instructions
  const blocks: KnownBlock[] = [
    section(
      `:unlock: *${targetNames(grant)}* is yours until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'expiry'} (grant \`${grant.id}\`). ${summary ? mrkdwn(summary) : ''}`,
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
  return { text: `Access to ${targetNames(grant)} is active until ${grant.expiresAt}`, blocks }
}

/** Five minutes before expiry, with buttons for the extensions that still fit under the maximum. */
export function expiringSoon(grant: Grant, now: Date): SlackMessage {
  const room = extensionRoom(grant)
  const choices = [900, 1800, 3600].filter((seconds) => seconds <= room)
  const blocks: KnownBlock[] = [
    section(
      `:hourglass_flowing_sand: Your access to *${targetNames(grant)}* ends ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'soon'} (in ${grant.expiresAt ? formatDuration(Math.max(1, Math.round((Date.parse(grant.expiresAt) - now.getTime()) / 1000))) : 'a few minutes'}); open sessions are ended then.`,
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
        `${targetNames(grant)}'s maximum of ${formatDuration(grant.maxDurationSeconds)} from activation leaves no room to extend.`,
      ),
    )
  }
  return { text: `Your access to ${targetNames(grant)} ends at ${grant.expiresAt}`, blocks }
}

export function accessExtended(grant: Grant): SlackMessage {
  return message(
    `:white_check_mark: *${targetNames(grant)}* is extended: your access now ends ${grant.expiresAt ? slackDate(grant.expiresAt) : 'later'} (grant \`${grant.id}\`).`,
  )
}

export function accessEnded(grant: Grant, sessionsTerminated: number): SlackMessage {
  const ended = endedLine(grant, sessionsTerminated)
  const report = sessionReport(grant)
  return report ? { ...ended, blocks: [...ended.blocks, report] } : ended
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
    `:lock: Your access to *${targetNames(grant)}* ended ${grant.endedAt ? slackDate(grant.endedAt) : ''}: ${why}. ${sessions} (grant \`${grant.id}\`)`,
  )
}

/** The accesses CloudTrail recorded under the grant, as far as they have arrived: who, when, where, from where. */
export function sessionReport(grant: Grant, max = 10): SectionBlock | undefined {
  const sessions = sessionsOf(grant)
  if (sessions.length === 0) return undefined
  return fittedList(
    '*Accesses under this grant* (as CloudTrail has delivered them so far)',
    sessions.map(
      (session) =>
        `• ${slackDate(session.at, '{time}')} ${quoted(session.eventName)} on ${session.instances.map((id) => `\`${quoted(id)}\``).join(', ') || '_no instance named_'} from ${quoted(session.sourceIPAddress ?? 'an unknown origin')}${session.mfa ? ', with MFA' : ', *without MFA*'}${session.rules.length ? ` — ${session.rules.join(', ')}` : ''}`,
    ),
    (left) => `…and ${left} more: \`keyless grants show ${grant.id}\``,
    max,
  )
}

export function requestClosed(grant: Grant, reason?: string): SlackMessage {
  const line = outcome(grant)
  return message(
    `Your request for *${targetNames(grant)}* (${formatDuration(grant.durationSeconds)}, grant \`${grant.id}\`) is closed. ${line}${reason && grant.status === 'FAILED' ? '' : reason ? ` (${quoted(reason)})` : ''}`,
  )
}
