import { readFile } from 'node:fs/promises'
import { KeylessError } from '../../shared/core/errors.ts'
import type { CliIo } from '../io.ts'

/** The manifest in the repo, and the placeholder request URL it carries. */
export const MANIFEST_FILE = new URL('../../slack/manifest.yaml', import.meta.url)
export const PLACEHOLDER_URL = 'https://keyless.example.com/slack/events'
/** Where keyless answers Slack: the deployed HTTP API's one route, and `npm start`'s. */
const EVENTS_PATH = '/slack/events'
const EXAMPLE = 'https://abc123.execute-api.eu-west-1.amazonaws.com/slack/events'

/**
 * The repo's manifest with every request URL (the slash command, interactivity, events) set to
 * `url`; everything else, comments included, as it is. The URL must be one Slack can call and
 * keyless answers: https, a host, the path /slack/events, nothing YAML would read differently.
 */
export function manifestFor(template: string, url: string): string {
  const problem = urlProblem(url)
  if (problem) throw new KeylessError('INVALID_URL', `--url: ${problem}, e.g. ${EXAMPLE}`)
  const places = template.split(PLACEHOLDER_URL).length - 1
  // The slash command, interactivity and event subscriptions: a manifest with fewer is stale.
  if (places !== 3) throw new Error(`slack/manifest.yaml names the request URL ${places} times, expected 3`)
  return template.replaceAll(PLACEHOLDER_URL, url)
}

function urlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `"${text}" is not a URL`
  }
  if (url.protocol !== 'https:') return `Slack calls only https URLs, not ${url.protocol.replace(/:$/, '')}`
  if (url.username || url.password) return 'a request URL carries no user or password'
  if (url.pathname !== EVENTS_PATH) return `keyless answers Slack at ${EVENTS_PATH}, not ${url.pathname}`
  if (url.search || url.hash) return 'a request URL has no query or fragment'
  // The URL lands in YAML unquoted: only characters that stay plain text there.
  if (!/^[A-Za-z0-9.:/_-]+$/.test(text)) return `"${text}" has characters a request URL does not need`
  return undefined
}

/** `keyless slack-manifest --url <request url>`: prints the Slack app manifest for a deployed stack. */
export async function slackManifestCommand(options: { url: string }, io: CliIo): Promise<void> {
  io.out(manifestFor(await readFile(MANIFEST_FILE, 'utf8'), options.url))
}
