import type { KnownBlock } from '@slack/types'
import { formatDuration } from '../../../core/config/duration.ts'
import type { TargetConfig } from '../../../core/config/schema.ts'
import type { Grant, SlackMessageRef } from '../../../core/grants/grant.ts'
import { describeStillNeeded } from '../../../core/grants/lifecycle.ts'
import { ACTIONS } from '../actions.ts'
import { mention, mrkdwn, quoted, slackDate } from '../text.ts'
import {
  context,
  decisionButtons,
  describeAccess,
  describeBy,
  field,
  header,
  message,
  outcome,
  plainStatus,
  type SlackMessage,
  section,
  targetNames,
} from './pieces.ts'

/** Approval messages: one copy per approver (and the approval channel), updated after decisions. */

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
    header(`${grant.breakGlass ? 'Break-glass access' : 'Access request'} · ${targetNames(grant)}`),
    section(
      `${mention(grant.requester)} asks for *${formatDuration(grant.durationSeconds)}* on *${targetNames(grant)}*${target?.description && !grant.targets ? ` (${mrkdwn(target.description)})` : ''}.`,
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
          grant.approvalRules
            ? grant.approvalRules
                .map(
                  (rule) => `${rule.target}: ${rule.approvals} of ${rule.approvers.map(mention).join(', ')}`,
                )
                .join('\n')
            : `${grant.requiredApprovals} of ${grant.approvers.map(mention).join(', ') || '_nobody_'}`,
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
          `:white_check_mark: Approved by ${approved.join(', ')}; waiting for ${describeStillNeeded(grant)}.`,
        ),
      )
    }
    blocks.push(decisionButtons(grant.id, ACTIONS.approve, ACTIONS.deny, 'Approve', 'Deny'))
  } else {
    blocks.push(section(outcome(grant)))
  }
  blocks.push(context(`Grant \`${grant.id}\``))
  return {
    text: `${mention(grant.requester)} asks for ${formatDuration(grant.durationSeconds)} on ${targetNames(grant)}${grant.status === 'PENDING' ? '' : ` — ${plainStatus(grant)}`}`,
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
    header(`Extension request · ${targetNames(grant)}`),
    section(
      `${mention(grant.requester)} asks for *${asked ?? 'more time'}* on *${targetNames(grant)}*, active until ${grant.expiresAt ? slackDate(grant.expiresAt) : 'its expiry'} (at most ${formatDuration(grant.maxDurationSeconds)} from activation).`,
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
  return { text: `${mention(grant.requester)} asks for more time on ${targetNames(grant)}`, blocks }
}

export function approvalReminder(grant: Grant): SlackMessage {
  return message(
    `:bell: Reminder: ${mention(grant.requester)} is waiting for a decision on *${targetNames(grant)}* (${formatDuration(grant.durationSeconds)}, grant \`${grant.id}\`). It ends undecided ${slackDate(grant.decideBy)}.`,
  )
}
