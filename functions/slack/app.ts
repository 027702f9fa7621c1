import { App, type Receiver } from '@slack/bolt'
import { type Logger, LogLevel } from '@slack/logger'
import { z } from 'zod'
import { refusalReply } from '../../shared/adapters/slack/messages.ts'
import {
  onAccessCommand,
  onButton,
  onHomeOpened,
  type SlackSurfaceDeps,
} from '../../shared/adapters/slack/surface.ts'
import { SLACK_USER_PATTERN } from '../../shared/core/config/schema.ts'

/**
 * The keyless Slack app on Bolt: one listener per kind of request, each validating what Slack
 * sent and handing it to shared/adapters/slack/surface.ts. The receiver decides how requests arrive
 * (AwsLambdaReceiver in Lambda, HTTPReceiver or Socket Mode locally); the listeners are the same.
 */
export interface SlackAppOptions {
  /** How requests arrive: AwsLambdaReceiver in Lambda; HTTPReceiver or SocketModeReceiver locally. */
  receiver: Receiver
  /** The bot token the Web API client uses; absent locally when messages are only printed. */
  botToken?: string
  /** The Web API's base URL, for a loopback recorder in tests (SLACK_API_URL). */
  slackApiUrl?: string
  logger: Logger
}

const commandPayload = z.object({
  user_id: z.string().regex(SLACK_USER_PATTERN),
  text: z.string(),
  trigger_id: z.string().min(1).max(256),
})

const buttonPayload = z.object({
  user: z.object({ id: z.string().regex(SLACK_USER_PATTERN) }),
  channel: z.object({ id: z.string().min(1).max(32) }).optional(),
})

const buttonAction = z.object({
  type: z.literal('button'),
  action_id: z.string().max(255),
  value: z.string().max(2000),
})

const homeOpened = z.object({ user: z.string().regex(SLACK_USER_PATTERN), tab: z.string() })

export function createSlackApp(deps: SlackSurfaceDeps, options: SlackAppOptions): App {
  const app = new App({
    receiver: options.receiver,
    // An authorize function, not a `token`: given a token, Bolt calls auth.test before serving
    // requests (on every request when verification is off), a Slack call before the response.
    authorize: async () => (options.botToken ? { botToken: options.botToken } : {}),
    // keyless listens to no message events, so there is nothing of its own to ignore; and
    // ignoring itself needs the bot's user id, which would cost that same auth.test.
    ignoreSelf: false,
    logger: options.logger,
    clientOptions: {
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    },
  })

  app.command('/access', async ({ command, ack }) => {
    const parsed = commandPayload.safeParse(command)
    const reply = parsed.success
      ? await onAccessCommand(deps, {
          user: parsed.data.user_id,
          text: parsed.data.text,
          triggerId: parsed.data.trigger_id,
        })
      : refusalReply('Slack sent a command keyless cannot read; nothing was changed.')
    await ack({ response_type: 'ephemeral', text: reply.text, blocks: reply.blocks })
  })

  app.action(/^keyless\./, async ({ ack, body, action }) => {
    await ack()
    const payload = buttonPayload.safeParse(body)
    const clicked = buttonAction.safeParse(action)
    if (!payload.success || !clicked.success) {
      deps.error('slack: ignored an action keyless cannot read', {
        action: (action as { action_id?: unknown }).action_id,
      })
      return
    }
    await onButton(deps, {
      action: clicked.data.action_id,
      value: clicked.data.value,
      user: payload.data.user.id,
      ...(payload.data.channel ? { channel: payload.data.channel.id } : {}),
    })
  })

  app.event('app_home_opened', async ({ event }) => {
    const parsed = homeOpened.safeParse(event)
    if (parsed.success && parsed.data.tab === 'home') await onHomeOpened(deps, parsed.data.user)
  })

  app.error(async (error) => {
    deps.error('slack: unhandled error in a listener', { error })
  })
  return app
}

/** Bolt's logger interface over keyless's log function: Bolt's own chatter at warn and above. */
export function boltLogger(
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void,
): Logger {
  let level = LogLevel.WARN
  const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR]
  const at =
    (wanted: LogLevel, as: 'debug' | 'info' | 'warn' | 'error') =>
    (...messages: unknown[]) => {
      if (order.indexOf(wanted) >= order.indexOf(level)) log(as, messages.map(String).join(' '))
    }
  return {
    debug: at(LogLevel.DEBUG, 'debug'),
    info: at(LogLevel.INFO, 'info'),
    warn: at(LogLevel.WARN, 'warn'),
    error: at(LogLevel.ERROR, 'error'),
    setLevel: (next) => {
      level = next
    },
    getLevel: () => level,
    setName: () => {},
  }
}
