import { formatDuration } from '../../../core/config/duration.ts'
import type { KeylessConfig } from '../../../core/config/schema.ts'
import type { Grant } from '../../../core/grants/grant.ts'
import { describeStillNeeded } from '../../../core/grants/lifecycle.ts'
import { EXAMPLES } from '../command.ts'
import { mention, mrkdwn } from '../text.ts'
import { describeAccess, grantLine, message, type SlackMessage, targetNames } from './pieces.ts'

/** Replies to `/access` (ephemeral, in the command's HTTP response). */

export function requestReply(grant: Grant, created: boolean): SlackMessage {
  const again = created ? '' : ' (Slack sent this request twice; it was recorded once.)'
  if (grant.breakGlass) {
    return message(
      `:rotating_light: Break-glass access to *${targetNames(grant)}* for ${formatDuration(grant.durationSeconds)} is being attached now; the security channel has been told. Grant \`${grant.id}\`.${again}`,
    )
  }
  if (grant.autoApprove) {
    return message(
      `:white_check_mark: *${targetNames(grant)}* is auto-approved: access for ${formatDuration(grant.durationSeconds)} is being attached; you will get a message with how to connect. Grant \`${grant.id}\`.${again}`,
    )
  }
  return message(
    `:inbox_tray: Asked ${grant.approvers.map(mention).join(', ')} for ${formatDuration(grant.durationSeconds)} on *${targetNames(grant)}*${grant.requiredApprovals > 1 ? ` (${grant.requiredApprovals} approvals needed)` : ''}. The clock starts when access is attached. Grant \`${grant.id}\`; \`/access cancel ${grant.id}\` to withdraw it.${again}`,
  )
}

export function helpReply(config: KeylessConfig): SlackMessage {
  return message(
    [
      '*keyless* gives you short-lived access to AWS instances, approved by a person.',
      `• \`${EXAMPLES.request}\` — ask for a target for a while, with a reason`,
      `• \`/access prod-db,prod-cache 30m one incident\` — several targets in one request (at most ${config.requests.maxTargets}), one approval covering them`,
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

/**
 * The one line a click or command's actor is told of what it did (sent as a follow-up, in the
 * channel they acted in, else as a DM); and what a requester hears of a denied extension.
 */
export const DONE = {
  approved: (grant: Grant): string =>
    grant.status === 'APPROVED'
      ? `You approved \`${grant.id}\`: ${mention(grant.requester)} gets *${targetNames(grant)}* for ${formatDuration(grant.durationSeconds)} once access is attached.`
      : `Your approval of \`${grant.id}\` is recorded; it needs ${describeStillNeeded(grant)}.`,
  denied: (grant: Grant): string => `You denied \`${grant.id}\`; ${mention(grant.requester)} has been told.`,
  extensionApproved: (grant: Grant): string =>
    grant.extension
      ? `Your approval of the extension of \`${grant.id}\` is recorded; it needs more approvals.`
      : `You approved the extension of \`${grant.id}\`: it now ends at ${grant.expiresAt}.`,
  extensionDenied: (grant: Grant): string => `You denied the extension of \`${grant.id}\`.`,
  extensionDeniedToRequester: (grant: Grant, by: string): string =>
    `${mention(by)} denied more time on \`${grant.id}\` (*${targetNames(grant)}*); it still ends at ${grant.expiresAt}.`,
  extended: (grant: Grant): string =>
    `Extended \`${grant.id}\` (*${targetNames(grant)}*): access now ends at ${grant.expiresAt}.`,
  extensionAsked: (grant: Grant, durationSeconds: number): string =>
    `Asked ${grant.approvers.map(mention).join(', ')} for +${formatDuration(durationSeconds)} on \`${grant.id}\` (*${targetNames(grant)}*).`,
  revoking: (grant: Grant): string =>
    `Revoking \`${grant.id}\` (*${targetNames(grant)}* for ${mention(grant.requester)}): the policy is removed and open sessions on the target are ended within seconds.`,
  cancelled: (grant: Grant): string => `Cancelled your request \`${grant.id}\` for *${targetNames(grant)}*.`,
  unknownButton: 'That button is not one keyless knows; nothing was changed.',
} as const
