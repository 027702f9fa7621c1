import type { Logger } from '@slack/logger'
import { WebClient } from '@slack/web-api'

/**
 * Slack's Web API client as keyless uses it everywhere: a transient failure (5xx, the network)
 * is retried twice within about two seconds, and a rate-limited call fails at once instead of
 * sleeping for Slack's Retry-After inside a workflow task or a follow-up. Either way the
 * failure is logged by the caller and nothing waits on it: access and its removal never do.
 */
export function createSlackClient(
  token: string | undefined,
  options: { slackApiUrl?: string; logger?: Logger } = {},
): WebClient {
  return new WebClient(token, {
    ...(options.slackApiUrl ? { slackApiUrl: withSlash(options.slackApiUrl) } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 1500, randomize: true },
    rejectRateLimitedCalls: true,
    timeout: 5000,
    // A method name is never a URL here; refuse one that would send the token elsewhere.
    allowAbsoluteUrls: false,
  })
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`)
