import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import { readable } from '../../local/console-slack.ts'
import { dataDirOf, runningControlPlane } from '../../local/operator-api.ts'
import {
  buttonBody,
  commandBody,
  homeOpenedBody,
  LOCAL_SIGNING_SECRET,
  type SignedRequest,
  signRequest,
} from '../../local/slack-requests.ts'
import { ACTIONS, extendValue } from '../../shared/adapters/slack/actions.ts'
import { parseDuration } from '../../shared/core/config/duration.ts'
import { SLACK_USER_PATTERN } from '../../shared/core/config/schema.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import type { CliIo } from '../io.ts'

/**
 * `keyless try …`: Slack without Slack. Sends the local control plane the signed requests
 * Slack would send for a person typing `/access …`, clicking a button or opening App Home, and
 * prints the reply that person would see. Everything else people see (approval messages, the
 * active message, App Home) appears in the output of `npm start`, or in Slack with a bot token.
 */

export interface TryOptions {
  as: string
  url?: string
  channel?: string
}

const BUTTONS: Record<string, string> = {
  approve: ACTIONS.approve,
  deny: ACTIONS.deny,
  'approve-extension': ACTIONS.approveExtension,
  'deny-extension': ACTIONS.denyExtension,
  revoke: ACTIONS.revoke,
  cancel: ACTIONS.cancel,
}
export const TRY_BUTTONS = [...Object.keys(BUTTONS), 'extend-15m', 'extend-30m', 'extend-1h']

/** The Extend buttons of the expiry warning: `extend-<duration>`, as their labels say (+15m, +30m, +1h). */
const EXTEND_BUTTON = /^extend-(.+)$/

const slackUser = z.string().regex(SLACK_USER_PATTERN)

export async function tryAccessCommand(words: string[], options: TryOptions, io: CliIo): Promise<void> {
  const text = await send(io, options, signed(io, commandBody(user(options), words.join(' '))))
  const reply = z
    .object({ text: z.string(), blocks: z.array(z.unknown()).optional() })
    .parse(JSON.parse(text))
  io.out(
    `${options.as} sees, only to them:\n${readable((reply.blocks ?? []) as KnownBlock[]) || `    ${reply.text}`}\n`,
  )
}

export async function tryClickCommand(
  button: string,
  grantId: string,
  options: TryOptions,
  io: CliIo,
): Promise<void> {
  const extend = EXTEND_BUTTON.exec(button)?.[1]
  const seconds = extend === undefined ? undefined : parseDuration(extend)
  const action = seconds?.ok ? `${ACTIONS.extend}:${seconds.seconds}` : BUTTONS[button]
  if (!action)
    throw new KeylessError('INVALID_BUTTON', `"${button}" is not a button; one of ${TRY_BUTTONS.join(', ')}`)
  const value = seconds?.ok ? extendValue(grantId, seconds.seconds) : grantId
  await send(io, options, signed(io, buttonBody(user(options), action, value, options.channel)))
  io.out(
    `${options.as} clicked ${button} on ${grantId}; what they and the others see follows in the output of npm start\n`,
  )
}

export async function tryHomeCommand(options: TryOptions, io: CliIo): Promise<void> {
  await send(io, options, signed(io, homeOpenedBody(user(options)), 'application/json'))
  io.out(`${options.as} opened App Home; the view follows in the output of npm start\n`)
}

function user(options: TryOptions): string {
  if (!slackUser.safeParse(options.as).success) {
    throw new KeylessError(
      'INVALID_USER',
      `--as takes a Slack user id from the config, e.g. --as U0ALICE (got "${options.as}")`,
    )
  }
  return options.as
}

function signed(io: CliIo, body: string, contentType?: string): SignedRequest {
  return signRequest(
    body,
    io.env.SLACK_SIGNING_SECRET || LOCAL_SIGNING_SECRET,
    contentType ? { contentType } : {},
  )
}

async function send(io: CliIo, options: TryOptions, request: SignedRequest): Promise<string> {
  const base = options.url ?? (await runningPlane(io))
  let response: Response
  try {
    response = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    })
  } catch {
    throw new KeylessError(
      'NO_CONTROL_PLANE',
      `nothing answers at ${base}; start the local control plane with npm start`,
    )
  }
  const text = await response.text()
  if (response.status === 401) {
    throw new KeylessError(
      'BAD_SIGNATURE',
      'the control plane refused the signature: run both with the same SLACK_SIGNING_SECRET, or neither',
    )
  }
  if (response.status !== 200)
    throw new KeylessError('REFUSED', `the control plane answered ${response.status}`)
  return text
}

/** The running local control plane's address, from its data folder, else the default port. */
async function runningPlane(io: CliIo): Promise<string> {
  return (await runningControlPlane(dataDirOf(io.env)))?.url ?? `http://127.0.0.1:${io.env.PORT || 3000}`
}
