import type { HomeView, KnownBlock } from '@slack/types'
import { isoSeconds } from '../../../core/clock.ts'
import { formatDuration } from '../../../core/config/duration.ts'
import type { Grant } from '../../../core/grants/grant.ts'
import { describeStillNeeded } from '../../../core/grants/lifecycle.ts'
import { ACTIONS } from '../actions.ts'
import { EXAMPLES } from '../command.ts'
import { mention, quoted, slackDate } from '../text.ts'
import { context, decisionButtons, header, revokeButton, section, targetNames, timeLeft } from './pieces.ts'

/** App Home. */

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
        "To ask for access yourself you need to be among the keyless config's people (`people:`, with your AWS principal or Identity Center user); ask whoever runs keyless.",
      ),
    )
  }
  blocks.push(section('*Your active grants*'))
  if (contents.active.length === 0) blocks.push(context('None.'))
  for (const grant of contents.active.slice(0, HOME_LIST_LIMIT)) {
    blocks.push({
      ...section(
        `*${targetNames(grant)}* until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'} (${timeLeft(grant, now)} left)${grant.revocation ? ' · _being revoked_' : ''}\n\`${grant.id}\``,
      ),
      ...(grant.revocation ? {} : { accessory: revokeButton(grant.id, 'Revoke') }),
    })
  }
  blocks.push({ type: 'divider' }, section('*Your pending requests*'))
  if (contents.pending.length === 0) blocks.push(context('None.'))
  for (const grant of contents.pending.slice(0, HOME_LIST_LIMIT)) {
    blocks.push({
      ...section(
        `*${targetNames(grant)}* for ${formatDuration(grant.durationSeconds)} · asked ${slackDate(grant.requestedAt)} · ${grant.approvalRules ? `waiting for ${describeStillNeeded(grant)}` : `${grant.approvals.length}/${grant.requiredApprovals} approvals`}\n\`${grant.id}\``,
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
            ? `${mention(grant.requester)} asks for *+${formatDuration(extension.durationSeconds)}* on *${targetNames(grant)}* (active until ${grant.expiresAt ? slackDate(grant.expiresAt, '{time}') : 'expiry'})\n>${quoted(grant.reason || 'no reason given')}`
            : `${mention(grant.requester)} asks for *${formatDuration(grant.durationSeconds)}* on *${targetNames(grant)}* · decide by ${slackDate(grant.decideBy, '{time}')}\n>${quoted(grant.reason || 'no reason given')}`,
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
