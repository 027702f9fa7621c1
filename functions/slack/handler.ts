import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'
import middy from '@middy/core'
import { AwsLambdaReceiver } from '@slack/bolt'
import type { Logger } from '@slack/logger'
import { z } from 'zod'
import { createLambdaClient } from '../../shared/adapters/aws/clients.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../../shared/adapters/slack/budget.ts'
import type { SlackSurfaceDeps } from '../../shared/adapters/slack/surface.ts'
import type { Notifier } from '../../shared/core/notify/notifier.ts'
import { assembleControl } from '../../shared/core/plane.ts'
import { commonDeps, logger, slackSecrets, webSlackApi } from '../runtime/aws-deps.ts'
import { boltLogger, createSlackApp } from './app.ts'
import { DEFERRED_KEY, deferredEventSchema, InvokeLaterNotifier } from './later.ts'

/**
 * The Slack function: Slack's requests (a function URL or HTTP API event) through Bolt's
 * AwsLambdaReceiver, which checks every signature; and the follow-ups its own listeners
 * deferred (see later.ts), sent to Slack through the notifier.
 */
export interface SlackFunctionParts {
  surface: SlackSurfaceDeps
  /** Carries out deferred follow-ups (the Slack notifier). */
  notifier: Notifier
  signingSecret: string
  botToken?: string
  slackApiUrl?: string
  logger: Logger
}

/** Slack's payloads are a few kilobytes; a request this large is not from Slack. */
export const MAX_BODY_BYTES = 256 * 1024

const httpEvent = z.looseObject({
  headers: z.record(z.string(), z.string().optional()),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
})

export interface HttpResponse {
  statusCode: number
  body: string
  headers?: Record<string, string>
}

export function raw(parts: SlackFunctionParts) {
  const receiver = new AwsLambdaReceiver({ signingSecret: parts.signingSecret, logger: parts.logger })
  createSlackApp(parts.surface, {
    receiver,
    logger: parts.logger,
    ...(parts.botToken ? { botToken: parts.botToken } : {}),
    ...(parts.slackApiUrl ? { slackApiUrl: parts.slackApiUrl } : {}),
  })
  const receive = receiver.toHandler()

  return async (event: unknown, context?: unknown): Promise<HttpResponse | { followedUp: string }> => {
    const followUp = deferredEventSchema.safeParse(event)
    if (followUp.success) {
      const notice = followUp.data[DEFERRED_KEY]
      await parts.notifier.send(notice)
      return { followedUp: notice.kind }
    }
    const request = httpEvent.safeParse(event)
    if (!request.success) return { statusCode: 400, body: '' }
    const body = request.data.body ?? ''
    if (Buffer.byteLength(body, request.data.isBase64Encoded ? 'base64' : 'utf8') > MAX_BODY_BYTES) {
      return { statusCode: 413, body: '' }
    }
    // The receiver decodes base64 bodies as ASCII, which breaks the signature of any UTF-8
    // JSON body (an event naming a channel in another script); decode them here as UTF-8.
    const normalized = request.data.isBase64Encoded
      ? { ...request.data, body: Buffer.from(body, 'base64').toString('utf8'), isBase64Encoded: false }
      : request.data
    try {
      // The receiver reads only headers, body, isBase64Encoded and the path of what it is given.
      return (await receive(normalized as unknown as Parameters<typeof receive>[0], context)) as HttpResponse
    } catch (error) {
      // The receiver parses the body before it checks the signature: an unsigned body that is
      // not JSON or a form throws. That is a bad request, not a server error.
      parts.surface.error('slack: unreadable request', { error })
      return { statusCode: 400, body: '' }
    }
  }
}

/** The function as built for the Slack secret it was built with: a rotated secret builds it again. */
let built: { secrets: string; serve: ReturnType<typeof raw> } | undefined

async function current(): Promise<ReturnType<typeof raw>> {
  const secrets = await slackSecrets()
  const fingerprint = `${secrets.signingSecret}\n${secrets.botToken}`
  if (built?.secrets === fingerprint) return built.serve
  const deps = await commonDeps()
  const functionName = z.string().min(1).parse(process.env.AWS_LAMBDA_FUNCTION_NAME)
  const serve = raw({
    surface: {
      control: assembleControl({ ...deps, directory: webSlackApi() }),
      later: new InvokeLaterNotifier(createLambdaClient(), functionName),
      error: (message, details) => logger.error(message, details),
    },
    notifier: deps.notifier,
    signingSecret: secrets.signingSecret,
    botToken: secrets.botToken,
    logger: boltLogger((level, message) => logger[level](message)),
  })
  built = { secrets: fingerprint, serve }
  return serve
}

/** Slack's requests answer in well under its three seconds; a follow-up's Slack calls get SLACK_BUDGET_MS.followUp. */
export const handler = middy((event: unknown, context: unknown) =>
  withSlackBudget(SLACK_BUDGET_MS.followUp, async () => (await current())(event, context)),
).use(injectLambdaContext(logger))
