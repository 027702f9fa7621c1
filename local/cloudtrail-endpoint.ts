import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import { SLACK_BUDGET_MS, withSlackBudget } from '../shared/adapters/slack/budget.ts'
import { InputError, problemOf, readEvents } from '../shared/core/alerts/input.ts'
import { ignoredLine, verdictLine } from '../shared/core/alerts/lines.ts'
import type { AlertService } from '../shared/core/alerts/service.ts'

/** The most a request may carry (after gzip: what is read off the socket counts). */
export const MAX_CLOUDTRAIL_BYTES = 64 * 1024 * 1024

/**
 * `POST /cloudtrail` on the local control plane (docs/contract.md): CloudTrail input in any form
 * `check-event` reads, each access event run through the real alert service (stored, linked
 * to its grant, alerted to the security channel), answered with the verdicts in input order:
 * `{"verdicts": [line…], "errors": [{"record", "problem"}]}`, each line as check-event prints
 * it plus what became of its alert. A malformed record is listed and the rest evaluated; input
 * that cannot be read as CloudTrail at all is a 400 and nothing is evaluated after it.
 */
export function cloudTrailEndpoint(alerts: AlertService, maxBytes = MAX_CLOUDTRAIL_BYTES) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`)
    }
    if (request.method !== 'POST') return reply(405, { error: 'POST CloudTrail records to /cloudtrail' })
    const verdicts: unknown[] = []
    const errors: { record: number; problem: string }[] = []
    const body = limited(maxBytes)
    try {
      for await (const { index, read } of readEvents(request.pipe(body))) {
        if (read.kind === 'malformed') errors.push({ record: index, problem: problemOf(read) })
        else if (read.kind === 'ignored') verdicts.push(ignoredLine(read.eventId, read.eventName))
        else {
          // One Slack budget per event, as the alert function gets one per invocation.
          const { verdict, alert } = await withSlackBudget(SLACK_BUDGET_MS.alert, () =>
            alerts.handle(read.event),
          )
          verdicts.push({ ...verdictLine(verdict), grant: verdict.grantId, alert })
        }
      }
    } catch (error) {
      if (body.exceeded) {
        return reply(413, {
          error: `the body is over ${maxBytes} bytes; use keyless check-event for files this large`,
          verdicts,
          errors,
        })
      }
      if (error instanceof InputError) return reply(400, { error: error.message, verdicts, errors })
      throw error
    }
    reply(200, { verdicts, errors })
  }
}

/** Passes bytes through until `max`, then fails the stream and says so. */
function limited(max: number): Transform & { exceeded: boolean } {
  let seen = 0
  const stream = Object.assign(
    new Transform({
      transform(chunk: Buffer, _encoding, done: TransformCallback) {
        seen += chunk.length
        if (seen <= max) return done(null, chunk)
        stream.exceeded = true
        done(new Error(`over ${max} bytes`))
      },
    }),
    { exceeded: false },
  )
  return stream
}
