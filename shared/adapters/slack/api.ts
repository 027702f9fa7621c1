import type { HomeView } from '@slack/types'
import type { WebClient } from '@slack/web-api'
import type { SlackMessage } from './messages.ts'

/**
 * The few Slack Web API calls keyless makes, as a port: `WebSlackApi` sends them with Slack's
 * own client; `ConsoleSlackApi` (local/) prints them, readably, for a local control plane with
 * no bot token. Bot scopes used: `chat:write` (all of these) and `commands`; nothing reads users.
 */
export interface SlackApi {
  /** Posts to a channel, or to the app's DM with a user when `channel` is a user id. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>
  updateMessage(where: { channel: string; ts: string }, message: SlackMessage): Promise<void>
  /** A message only `user` sees, in a channel the app is in. */
  postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void>
  publishHome(user: string, view: HomeView): Promise<void>
  /** The members of a Slack user group (`S…`): who approves when a target names the group. */
  userGroupMembers(groupId: string): Promise<string[]>
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

  /** `usergroups.users.list` (scope `usergroups:read`): a disabled or unknown group is Slack's error. */
  async userGroupMembers(groupId: string): Promise<string[]> {
    const result = await this.#client.usergroups.users.list({ ...(await this.#auth()), usergroup: groupId })
    if (!result.users) throw new Error(`usergroups.users.list for ${groupId} returned no users`)
    return result.users
  }

  async #auth(): Promise<{ token?: string }> {
    return this.#token ? { token: await this.#token() } : {}
  }
}
