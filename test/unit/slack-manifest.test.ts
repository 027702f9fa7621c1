import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConsoleSlackApi, type SlackApi } from '../../shared/slack/api.ts'

const manifest = parse(await readFile(new URL('../../slack/manifest.yaml', import.meta.url), 'utf8'))

/** Each Web API method keyless calls, by SlackApi method, and the bot scope Slack requires for it. */
const CALLS: Record<keyof SlackApi, { method: string; scope: string | null }> = {
  postMessage: { method: 'chat.postMessage', scope: 'chat:write' },
  updateMessage: { method: 'chat.update', scope: 'chat:write' },
  postEphemeral: { method: 'chat.postEphemeral', scope: 'chat:write' },
  publishHome: { method: 'views.publish', scope: null },
}

describe('slack/manifest.yaml', () => {
  it('asks for the scopes of the calls keyless makes, and no more', () => {
    // Every method of the SlackApi port is listed above: a new call must name its scope here.
    const methods = Object.getOwnPropertyNames(ConsoleSlackApi.prototype).filter(
      (name) => name !== 'constructor',
    )
    expect(methods.sort()).toEqual(Object.keys(CALLS).sort())
    const needed = new Set([...Object.values(CALLS).map((call) => call.scope), 'commands'].filter(Boolean))
    expect(new Set(manifest.oauth_config.scopes.bot)).toEqual(needed)
    expect(manifest.oauth_config.scopes.user).toBeUndefined()
  })

  it('sends /access, button clicks and App Home to the one request URL keyless serves', () => {
    const urls = [
      manifest.features.slash_commands[0].url,
      manifest.settings.interactivity.request_url,
      manifest.settings.event_subscriptions.request_url,
    ]
    expect(new Set(urls)).toEqual(new Set(['https://keyless.example.com/slack/events']))
    expect(manifest.features.slash_commands.map((command: { command: string }) => command.command)).toEqual([
      '/access',
    ])
    expect(manifest.settings.interactivity.is_enabled).toBe(true)
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened'])
    expect(manifest.features.app_home.home_tab_enabled).toBe(true)
  })
})
