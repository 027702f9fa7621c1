import type { Logger } from '@slack/logger'
import { LogLevel, type RetryOptions, WebClient } from '@slack/web-api'
import { currentSlackBudget, SlackBudgetSpentError } from './budget.ts'

/** How long one request may take outside a Slack budget (the CLI, a test without one). */
const REQUEST_TIMEOUT_MS = 5000

/**
 * Slack's Web API client as keyless uses it everywhere: a transient failure (5xx, a refused
 * connection) is retried twice within about two seconds, and a rate-limited call fails at once
 * instead of sleeping for Slack's Retry-After inside a workflow task or a follow-up. Either way
 * the failure is logged by the caller and nothing waits on it: access and its removal never do.
 *
 * Inside a Slack budget (budget.ts) the budget is a request's only deadline: a request is never
 * cut by a per-attempt timeout and sent again (a message Slack posted but did not confirm would
 * be posted twice); when the budget runs out the request is aborted and no retry follows.
 * Outside one, each attempt has five seconds.
 */
export function createSlackClient(
  token: string | undefined,
  options: { slackApiUrl?: string; logger?: Logger } = {},
): WebClient {
  return new WebClient(token, {
    ...(options.slackApiUrl ? { slackApiUrl: withSlash(options.slackApiUrl) } : {}),
    // The caller logs every failure it is given; the client's own line for it would be a second.
    ...(options.logger ? { logger: options.logger } : { logLevel: LogLevel.ERROR }),
    // The client hands retryConfig to p-retry whole; its type names only the backoff options.
    retryConfig: {
      retries: 2,
      factor: 2,
      minTimeout: 200,
      maxTimeout: 1500,
      randomize: true,
      // Throwing here ends the retries (p-retry): nothing is retried once the budget is spent.
      onFailedAttempt: (error: Error) => {
        const budget = currentSlackBudget()
        if (!budget?.spent) return
        const original = (error as { original?: unknown }).original
        throw original instanceof SlackBudgetSpentError
          ? original
          : new SlackBudgetSpentError(budget.ms, true)
      },
    } as RetryOptions,
    rejectRateLimitedCalls: true,
    fetch: budgetedFetch,
    // Every request starts at once, in the async context of its caller (a queued one would start
    // in another's, under the wrong budget); Slack's own rate limits refuse the excess.
    maxRequestConcurrency: Number.POSITIVE_INFINITY,
    // A method name is never a URL here; refuse one that would send the token elsewhere.
    allowAbsoluteUrls: false,
  })
}

const budgetedFetch: typeof fetch = (input, init) => {
  const budget = currentSlackBudget()
  if (budget?.spent) return Promise.reject(new SlackBudgetSpentError(budget.ms, false))
  return fetch(input, { ...init, signal: budget?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`)
