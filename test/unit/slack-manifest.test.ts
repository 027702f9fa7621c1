import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { MANIFEST_FILE, manifestFor, PLACEHOLDER_URL } from '../../cli/commands/slack-manifest.ts'
import { ConsoleSlackApi } from '../../local/console-slack.ts'
import type { SlackApi } from '../../shared/adapters/slack/api.ts'
import { runKeyless } from '../kit/cli.ts'

const manifest = parse(await readFile(new URL('../../slack/manifest.yaml', import.meta.url), 'utf8'))

/** Each Web API method keyless calls, by SlackApi method, and the bot scope Slack requires for it. */
const CALLS: Record<keyof SlackApi, { method: string; scope: string | null }> = {
  postMessage: { method: 'chat.postMessage', scope: 'chat:write' },
  updateMessage: { method: 'chat.update', scope: 'chat:write' },
  postEphemeral: { method: 'chat.postEphemeral', scope: 'chat:write' },
  publishHome: { method: 'views.publish', scope: null },
  userGroupMembers: { method: 'usergroups.users.list', scope: 'usergroups:read' },
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

describe('keyless slack-manifest --url', () => {
  const REQUEST_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/slack/events'

  it('prints the repo manifest with every request URL set, comments and all else unchanged', async () => {
    const result = await runKeyless(['slack-manifest', '--url', REQUEST_URL])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const template = await readFile(MANIFEST_FILE, 'utf8')
    expect(result.stdout).toBe(template.replaceAll(PLACEHOLDER_URL, REQUEST_URL))
    const printed = parse(result.stdout)
    expect(printed.features.slash_commands[0].url).toBe(REQUEST_URL)
    expect(printed.settings.interactivity.request_url).toBe(REQUEST_URL)
    expect(printed.settings.event_subscriptions.request_url).toBe(REQUEST_URL)
    expect({ ...printed, features: undefined, settings: undefined }).toEqual({
      ...manifest,
      features: undefined,
      settings: undefined,
    })
  })

  it('refuses a URL Slack cannot call or keyless does not answer, naming why, printing nothing', async () => {
    const refusals: [string, string][] = [
      ['not a url', '"not a url" is not a URL'],
      ['http://abc.example.com/slack/events', 'Slack calls only https URLs, not http'],
      ['https://abc.example.com/', 'keyless answers Slack at /slack/events, not /'],
      ['https://abc.example.com/slack/events?x=1', 'a request URL has no query or fragment'],
      ['https://u:p@abc.example.com/slack/events', 'a request URL carries no user or password'],
    ]
    for (const [url, reason] of refusals) {
      const result = await runKeyless(['slack-manifest', '--url', url])
      expect(result, url).toEqual({
        code: 1,
        stdout: '',
        stderr: `keyless: --url: ${reason}, e.g. ${REQUEST_URL}\n`,
      })
    }
    expect((await runKeyless(['slack-manifest'])).code).toBe(2)
  })

  it('the manifest names the placeholder exactly where a request URL goes', () => {
    expect(() => manifestFor('url: https://keyless.example.com/slack/events\n', REQUEST_URL)).toThrow(
      'names the request URL 1 times, expected 3',
    )
  })
})
