import { randomUUID } from 'node:crypto'
import { KeylessError } from '../../core/errors.ts'
import {
  approveExtension,
  approveRequest,
  type ControlDeps,
  cancelRequest,
  denyExtension,
  denyRequest,
  requestExtension,
  revokeGrant,
  submitRequest,
} from '../../core/grants/control.ts'
import { GrantError } from '../../core/grants/errors.ts'
import type { Actor } from '../../core/grants/grant.ts'
import type { Warn } from '../../core/log.ts'
import type { Notice, Notifier } from '../../core/notify/notifier.ts'
import { ACTIONS, extendValueSchema, grantIdValue } from './actions.ts'
import { type AccessCommand, CommandError, parseAccessCommand } from './command.ts'
import {
  DONE,
  doneReply,
  helpReply,
  listReply,
  refusalReply,
  requestReply,
  type SlackMessage,
  targetsReply,
} from './messages.ts'

/**
 * What happens when someone uses keyless in Slack, independent of how the request arrived
 * (Lambda, the local HTTP server, Socket Mode). Each function records the change through
 * `shared/core/grants/control.ts` and leaves every Slack Web API call to `later`: Slack waits at most
 * three seconds for the response, and in Lambda the response waits for the listener, so
 * nothing slow may happen before it.
 */
export interface SlackSurfaceDeps {
  control: ControlDeps
  /** Slack follow-ups, carried out after the response (another invocation in Lambda, the background locally). */
  later: Notifier
  /** Where an unexpected failure is logged; the person sees only a reference to it. */
  error: Warn
}

export interface CommandInput {
  user: string
  text: string
  /** Slack's id for this command: a retried delivery carries the same, so it makes no second grant. */
  triggerId: string
}

/** `/access …`: the ephemeral reply, sent in the HTTP response itself. Never throws. */
export async function onAccessCommand(deps: SlackSurfaceDeps, input: CommandInput): Promise<SlackMessage> {
  const { config } = deps.control
  let command: AccessCommand
  try {
    command = parseAccessCommand(input.text, new Set(config.targets.keys()))
  } catch (error) {
    return refusal(deps, error, { user: input.user, text: input.text })
  }
  const actor: Actor = { kind: 'slack', id: input.user }
  try {
    switch (command.kind) {
      case 'help':
        return helpReply(config)
      case 'targets':
        return targetsReply(config)
      case 'list':
        return listReply(
          await deps.control.store.listByRequester(input.user, { limit: 15 }),
          deps.control.clock.now(),
        )
      case 'request': {
        const { grant, created } = await submitRequest(deps.control, {
          clientToken: input.triggerId,
          target: command.target,
          ...(command.targets.length > 1 ? { targets: command.targets } : {}),
          requester: input.user,
          durationSeconds: command.durationSeconds,
          reason: command.reason,
          breakGlass: command.breakGlass,
        })
        return requestReply(grant, created)
      }
      case 'revoke':
        return doneReply(await revoke(deps, command.grantId, actor, command.reason || undefined))
      case 'cancel':
        return doneReply(await cancel(deps, command.grantId, actor))
      case 'extend':
        return doneReply(await extend(deps, command.grantId, actor, command.durationSeconds))
    }
  } catch (error) {
    return refusal(deps, error, { user: input.user, command: command.kind })
  }
}

export interface ButtonInput {
  /** The button's action id. */
  action: string
  /** The button's value: a grant id (for Extend, a grant id and seconds). */
  value: string
  /** Who clicked, from Slack's signed payload. */
  user: string
  /** Where the click happened, when it was in a message (App Home clicks have no channel). */
  channel?: string
}

/**
 * A click on one of keyless's buttons: the decision is recorded before the function returns;
 * what the clicker and everyone else sees follows through `later`. Never throws.
 */
export async function onButton(deps: SlackSurfaceDeps, input: ButtonInput): Promise<void> {
  const actor: Actor = { kind: 'slack', id: input.user }
  const reply = (text: string) =>
    later(deps, {
      kind: 'reply',
      user: input.user,
      text,
      ...(input.channel ? { channel: input.channel } : {}),
    })
  try {
    const [action] = input.action.split(':')
    if (action === ACTIONS.extend) {
      const { grantId, durationSeconds } = extendValueSchema.parse(input.value)
      return reply(await extend(deps, grantId, actor, durationSeconds))
    }
    const grantId = grantIdValue.parse(input.value)
    switch (action) {
      case ACTIONS.approve: {
        const grant = await approveRequest(deps.control, grantId, actor)
        await later(deps, { kind: 'grant-updated', grant })
        return reply(DONE.approved(grant))
      }
      case ACTIONS.deny: {
        const grant = await denyRequest(deps.control, grantId, actor)
        await later(deps, { kind: 'request-closed', grant })
        return reply(DONE.denied(grant))
      }
      case ACTIONS.approveExtension: {
        const grant = await approveExtension(deps.control, grantId, actor)
        await later(deps, { kind: 'grant-updated', grant })
        return reply(DONE.extensionApproved(grant))
      }
      case ACTIONS.denyExtension: {
        const grant = await denyExtension(deps.control, grantId, actor)
        await later(deps, { kind: 'grant-updated', grant })
        await later(deps, {
          kind: 'reply',
          user: grant.requester,
          text: DONE.extensionDeniedToRequester(grant, input.user),
        })
        return reply(DONE.extensionDenied(grant))
      }
      case ACTIONS.revoke:
        return reply(await revoke(deps, grantId, actor))
      case ACTIONS.cancel:
        return reply(await cancel(deps, grantId, actor))
      default:
        return reply(DONE.unknownButton)
    }
  } catch (error) {
    const message = refusal(deps, error, { user: input.user, action: input.action })
    return reply(message.text)
  }
}

/** Someone opened keyless's App Home tab. */
export function onHomeOpened(deps: SlackSurfaceDeps, user: string): Promise<void> {
  return later(deps, { kind: 'home-opened', user })
}

async function extend(
  deps: SlackSurfaceDeps,
  grantId: string,
  actor: Actor,
  durationSeconds: number,
): Promise<string> {
  const grant = await requestExtension(deps.control, grantId, actor, durationSeconds)
  if (!grant.extension) {
    return DONE.extended(grant)
  }
  await later(deps, { kind: 'extension-requested', grant })
  return DONE.extensionAsked(grant, durationSeconds)
}

/** Revoke, from `/access revoke` or a Revoke button: recorded, then everyone's view updated. */
async function revoke(
  deps: SlackSurfaceDeps,
  grantId: string,
  actor: Actor,
  reason?: string,
): Promise<string> {
  const grant = await revokeGrant(deps.control, grantId, actor, reason)
  await later(deps, { kind: 'grant-updated', grant })
  return DONE.revoking(grant)
}

/** Cancel, from `/access cancel` or a Cancel button in App Home. */
async function cancel(deps: SlackSurfaceDeps, grantId: string, actor: Actor): Promise<string> {
  const grant = await cancelRequest(deps.control, grantId, actor)
  await later(deps, { kind: 'grant-updated', grant })
  return DONE.cancelled(grant)
}

/**
 * A refusal as the person should read it: keyless's own sentences (a GrantError, a bad
 * command) as they are, with an example where there is one; anything else is internal, so the
 * person gets a reference and the log gets the details.
 */
function refusal(deps: SlackSurfaceDeps, error: unknown, context: Record<string, unknown>): SlackMessage {
  if (error instanceof CommandError) return refusalReply(error.message, error.example)
  if (error instanceof KeylessError) {
    const hint = hintFor(deps, error)
    // keyless's own sentences name people as <@id>; those mentions are kept, everything else escaped.
    return withMentions(refusalReply(`${error.message}${hint}`))
  }
  if (isInvalidValue(error))
    return refusalReply('That button carries a value keyless does not accept; nothing was changed.')
  const reference = randomUUID().slice(0, 8)
  deps.error('slack request failed', { reference, ...context, error: describe(error) })
  return refusalReply(
    `keyless could not finish this (reference ${reference}); it has been logged. Check \`/access list\` before trying again.`,
  )
}

function hintFor(deps: SlackSurfaceDeps, error: KeylessError): string {
  if (error instanceof GrantError && error.code === 'UNKNOWN_PERSON') {
    const admins = deps.control.config.slack.admins
    return admins.length > 0 ? ` keyless is run by ${admins.map((id) => `<@${id}>`).join(', ')}.` : ''
  }
  if (error.code === 'UNKNOWN_TARGET' || error.code === 'DURATION_OVER_LIMIT')
    return ' See `/access targets`.'
  return ''
}

function withMentions(message: SlackMessage): SlackMessage {
  const keepMentions = (text: string) => text.replace(/&lt;@([UW][A-Z0-9]{2,20})&gt;/g, '<@$1>')
  return {
    text: keepMentions(message.text),
    blocks: message.blocks.map((block) =>
      block.type === 'section' && block.text
        ? { ...block, text: { ...block.text, text: keepMentions(block.text.text) } }
        : block,
    ),
  }
}

function later(deps: SlackSurfaceDeps, notice: Notice): Promise<void> {
  return deps.later.send(notice).catch((error: unknown) => {
    deps.error('could not schedule a Slack follow-up', { kind: notice.kind, error: describe(error) })
  })
}

const isInvalidValue = (error: unknown) => (error as { name?: string })?.name === 'ZodError'
const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error)
