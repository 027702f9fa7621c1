import type { HomeView, KnownBlock } from '@slack/types'
import type { SlackApi } from '../shared/adapters/slack/api.ts'
import type { SlackMessage } from '../shared/adapters/slack/messages.ts'
import { dateFallbacks, unescapeSlack } from '../shared/adapters/slack/text.ts'

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

  /** The console has no Slack to ask: a request naming a user group is refused, saying so. */
  async userGroupMembers(groupId: string): Promise<string[]> {
    throw new Error(
      `no Slack to read user group ${groupId} from: set SLACK_BOT_TOKEN (and SLACK_API_URL) for npm start`,
    )
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
