import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import {
  buttonBody,
  commandBody,
  homeOpenedBody,
  newTriggerId,
  type SignedRequest,
  signRequest,
} from '../../local/slack-requests.ts'

/**
 * Slack for tests, on loopback: a Web API that records every call keyless makes (method and
 * arguments, decoded as Slack would) and answers like Slack does, and builders for the signed
 * requests Slack sends. Nothing here reaches the internet.
 */

export interface SlackCall {
  method: string
  args: Record<string, unknown>
  /** Milliseconds since the epoch when the call arrived. */
  at: number
}

export interface SlackRecorder {
  /** The Web API base URL to give keyless (SLACK_API_URL). */
  url: string
  calls: SlackCall[]
  /** Calls of one method, in order. */
  of(method: string): SlackCall[]
  /** The next `times` calls of `method` fail with Slack's `error` (e.g. channel_not_found, ratelimited). */
  fail(method: string, error: string, times?: number): void
  /** What `method` answers besides `ok: true` (e.g. the WebSocket URL of apps.connections.open). */
  answer(method: string, result: Record<string, unknown>): void
  /**
   * From now on every call is accepted and recorded but never answered (a Slack incident, a
   * function in a VPC without NAT), until `hang(false)`; a call left hanging is never carried out.
   */
  hang(hanging?: boolean): void
  close(): Promise<void>
}

export async function startSlackRecorder(): Promise<SlackRecorder> {
  const calls: SlackCall[] = []
  const failures = new Map<string, { error: string; times: number }>()
  const answers = new Map<string, Record<string, unknown>>()
  let sent = 0
  let hanging = false
  const server: Server = createServer(async (request, response) => {
    const method = (request.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? ''
    const args = decode(await body(request), request.headers['content-type'] ?? '')
    calls.push({ method, args, at: Date.now() })
    if (hanging) return // the connection stays open, unanswered, until the caller gives up
    const failure = failures.get(method)
    if (failure && failure.times > 0) {
      failure.times -= 1
      const status = failure.error === 'ratelimited' ? 429 : 200
      response.writeHead(status, {
        'content-type': 'application/json',
        ...(status === 429 ? { 'retry-after': '30' } : {}),
      })
      response.end(JSON.stringify({ ok: false, error: failure.error }))
      return
    }
    const result: Record<string, unknown> = { ok: true, ...answers.get(method) }
    if (method === 'chat.postMessage') {
      const channel = String(args.channel)
      // A DM posted to a user id lands in the app's DM channel with that user, as in Slack.
      result.channel = /^[UW]/.test(channel) ? `D${channel.slice(1)}` : channel
      result.ts = `1795400000.${String(++sent).padStart(6, '0')}`
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    of: (method) => calls.filter((call) => call.method === method),
    fail: (method, error, times = 1) => failures.set(method, { error, times }),
    answer: (method, result) => answers.set(method, result),
    hang: (next = true) => {
      hanging = next
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Form fields as Slack's API reads them: structured ones (blocks, view) are JSON. */
function decode(text: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(text || '{}')
  const args: Record<string, unknown> = {}
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = /^[[{]/.test(value) ? JSON.parse(value) : value
  }
  return args
}

// ---------------------------------------------------------------------------------------------
// What Slack sends: the builders keyless try uses, signed with the tests' secret.

export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef'

export { buttonBody, commandBody, homeOpenedBody, newTriggerId as newTrigger, type SignedRequest }

export function signed(
  body: string,
  options: { secret?: string; timestamp?: number; contentType?: string; retryNum?: number } = {},
): SignedRequest {
  const { secret = TEST_SIGNING_SECRET, ...rest } = options
  return signRequest(body, secret, rest)
}

/** A Lambda function URL event (payload format 2.0) carrying `request`. */
export function functionUrlEvent(request: SignedRequest, options: { base64?: boolean } = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/slack/events',
    rawQueryString: '',
    headers: { ...request.headers, host: 'abc.lambda-url.eu-west-1.on.aws' },
    requestContext: { http: { method: 'POST', path: '/slack/events', sourceIp: '203.0.113.9' } },
    body: options.base64 ? Buffer.from(request.body, 'utf8').toString('base64') : request.body,
    isBase64Encoded: options.base64 ?? false,
  }
}

/**
 * Text of any code points a person could type or paste, lone surrogates included: what
 * fast-check's `unit: 'binary'` draws, without the reverse map of every code point it builds
 * (close to a second of CPU per use) so that it can shrink values it did not make.
 */
export const anyText = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0x10ffff }).map((point) => String.fromCodePoint(point)),
    maxLength,
  })
