import { createHmac, randomUUID } from 'node:crypto'

/**
 * Requests shaped as Slack sends them: a slash command, a button click, App Home opened, each
 * signed as Slack signs (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's signing
 * secret). `keyless try` sends these to a local control plane, so keyless can be tried with no
 * Slack workspace; the tests use them the same way.
 */

/**
 * The signing secret a local control plane checks when SLACK_SIGNING_SECRET is unset, and
 * `keyless try` signs with: documented, so it protects nothing; in AWS the real secret is
 * required and lives in Secrets Manager.
 */
export const LOCAL_SIGNING_SECRET = 'keyless-local-development-signing-secret'

export interface SignedRequest {
  body: string
  headers: Record<string, string>
}

export function slackSignature(body: string, timestamp: number, secret: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`
}

export function signRequest(
  body: string,
  secret: string,
  options: { timestamp?: number; contentType?: string; retryNum?: number } = {},
): SignedRequest {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000)
  return {
    body,
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(body, timestamp, secret),
      ...(options.retryNum === undefined
        ? {}
        : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' }),
    },
  }
}

/** Slack's trigger id: unique per command, the same on a retried delivery. */
export const newTriggerId = (): string => `${Date.now()}.${randomUUID()}`

/** `/access <text>` typed by `user`, as Slack posts it. */
export function commandBody(user: string, text: string, triggerId = newTriggerId()): string {
  return new URLSearchParams({
    team_id: 'T0LOCAL',
    team_domain: 'local',
    channel_id: 'C0LOCAL',
    channel_name: 'local',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/access',
    text,
    api_app_id: 'A0KEYLESS',
    is_enterprise_install: 'false',
    response_url: 'https://hooks.slack.com/commands/T0LOCAL/0/local',
    trigger_id: triggerId,
  }).toString()
}

/** A click on one of keyless's buttons: in a message (`channel`), or in App Home (no channel). */
export function buttonBody(user: string, actionId: string, value: string, channel?: string): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0LOCAL' },
    api_app_id: 'A0KEYLESS',
    team: { id: 'T0LOCAL', domain: 'local' },
    trigger_id: newTriggerId(),
    container: channel
      ? { type: 'message', channel_id: channel, message_ts: '1795400000.000001' }
      : { type: 'view', view_id: 'V0HOME' },
    ...(channel ? { channel: { id: channel, name: 'directmessage' } } : {}),
    actions: [
      { type: 'button', action_id: actionId, block_id: 'keyless', value, action_ts: `${Date.now() / 1000}` },
    ],
  }
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
}

/** The Events API's app_home_opened for `user`, as JSON. */
export function homeOpenedBody(user: string): string {
  return JSON.stringify({
    team_id: 'T0LOCAL',
    api_app_id: 'A0KEYLESS',
    type: 'event_callback',
    event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0LOCAL', user_id: 'U0KEYLESSBOT', is_bot: true }],
    event: {
      type: 'app_home_opened',
      user,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: `${Date.now() / 1000}`,
    },
  })
}
