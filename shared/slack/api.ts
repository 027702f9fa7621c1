import type { HomeView, KnownBlock } from '@slack/types'
import type { WebClient } from '@slack/web-api'
import type { SlackMessage } from './messages.ts'
import { dateFallbacks, unescapeSlack } from './text.ts'

/**
 * The few Slack Web API calls keyless makes, as a port: `WebSlackApi` sends them with Slack's
 * own client; `ConsoleSlackApi` prints them, readably, for a local control plane with no bot
 * token. Bot scopes used: `chat:write` (all of these) and `commands`; nothing reads users.
 */
export interface SlackApi {
  /** Posts to a channel, or to the app's DM with a user when `channel` is a user id. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>
  updateMessage(where: { channel: string; ts: string }, message: SlackMessage): Promise<void>
  /** A message only `user` sees, in a channel the app is in. */
  postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void>
  publishHome(user: string, view: HomeView): Promise<void>
}

export class WebSlackApi implements SlackApi {
  readonly #client: WebClient
  readonly #token: (() => Promise<string>) | undefined

  /**
   * `token`, where given, is asked for on every call (a cache in front of Secrets Manager), so
   * a rotated bot token takes effect without rebuilding anything; else the client's own is used.
   */
  constructor(client: WebClient, token?: () => Promise<string>) {
    this.#client = client
    this.#token = token
  }

  async postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }> {
    const result = await this.#client.chat.postMessage({
      ...(await this.#auth()),
      channel,
      text: message.text,
      blocks: message.blocks,
    })
    if (!result.channel || !result.ts)
      throw new Error(`chat.postMessage to ${channel} returned no channel or ts`)
    return { channel: result.channel, ts: result.ts }
  }

  async updateMessage(where: { channel: string; ts: string }, message: SlackMessage): Promise<void> {
    await this.#client.chat.update({
      ...(await this.#auth()),
      ...where,
      text: message.text,
      blocks: message.blocks,
    })
  }

  async postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void> {
    await this.#client.chat.postEphemeral({
      ...(await this.#auth()),
      channel,
      user,
      text: message.text,
      blocks: message.blocks,
    })
  }

  async publishHome(user: string, view: HomeView): Promise<void> {
    await this.#client.views.publish({ ...(await this.#auth()), user_id: user, view })
  }

  async #auth(): Promise<{ token?: string }> {
    return this.#token ? { token: await this.#token() } : {}
  }
}

/**
 * Slack as a log: each message keyless would have sent, as a person would read it. What
 * `npm start` uses when SLACK_BOT_TOKEN is unset, so the whole flow can be followed locally.
 */
export class ConsoleSlackApi implements SlackApi {
  readonly #print: (text: string) => void
  #sent = 0

  constructor(print: (text: string) => void) {
    this.#print = print
  }

  async postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }> {
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.#sent).padStart(6, '0')}`
    this.#print(`slack → ${describeChannel(channel)}\n${readable(message.blocks)}`)
    return { channel, ts }
  }

  async updateMessage(where: { channel: string; ts: string }, message: SlackMessage): Promise<void> {
    this.#print(
      `slack ✎ ${describeChannel(where.channel)} (message ${where.ts} updated)\n${readable(message.blocks)}`,
    )
  }

  async postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void> {
    this.#print(`slack → only ${user}, in ${describeChannel(channel)}\n${readable(message.blocks)}`)
  }

  async publishHome(user: string, view: HomeView): Promise<void> {
    this.#print(`slack ⌂ App Home of ${user}\n${readable(view.blocks as KnownBlock[])}`)
  }
}

const describeChannel = (channel: string) => (/^[UW]/.test(channel) ? `DM ${channel}` : `channel ${channel}`)

/** Blocks as indented plain text: dates as their UTC text, buttons as [labels]. */
export function readable(blocks: KnownBlock[]): string {
  const lines: string[] = []
  const text = (value: string) => unescapeSlack(dateFallbacks(value))
  for (const block of blocks) {
    if (block.type === 'header') lines.push(`# ${text(block.text.text)}`)
    if (block.type === 'section') {
      if (block.text) lines.push(text(block.text.text))
      for (const field of block.fields ?? []) lines.push(text(field.text).replace('\n', ': '))
      if (block.accessory?.type === 'button') lines.push(`[${block.accessory.text.text}]`)
    }
    if (block.type === 'context') {
      for (const element of block.elements) if ('text' in element) lines.push(`(${text(element.text)})`)
    }
    if (block.type === 'actions') {
      lines.push(
        block.elements
          .map((element) => ('text' in element && element.text ? `[${element.text.text}]` : ''))
          .join(' '),
      )
    }
  }
  return lines.map((line) => `    ${line.replace(/\n/g, '\n    ')}`).join('\n')
}
