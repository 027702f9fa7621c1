import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import { z } from 'zod'
import { grantSchema } from '../../shared/core/grants/grant.ts'
import type { Notice, Notifier } from '../../shared/core/notify/notifier.ts'

/**
 * Slack follow-ups in Lambda. The Slack function's HTTP response waits for its listeners, and
 * Slack gives up after three seconds; so after recording a decision, a listener hands what
 * people should see (updated approval copies, a reply, App Home) to another invocation of the
 * same function, asynchronously (InvocationType Event: Lambda queues it, retries it twice, and
 * the caller waits only for the queueing). Bolt for Python calls this pattern lazy listeners.
 */
export class InvokeLaterNotifier implements Notifier {
  readonly #lambda: LambdaClient
  readonly #functionName: string

  constructor(lambda: LambdaClient, functionName: string) {
    this.#lambda = lambda
    this.#functionName = functionName
  }

  async send(notice: Notice): Promise<void> {
    await this.#lambda.send(
      new InvokeCommand({
        FunctionName: this.#functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify({ [DEFERRED_KEY]: notice }),
      }),
    )
  }
}

/** The event key that marks an invocation as a follow-up; an HTTP request from Slack can never carry it (its body is a string). */
export const DEFERRED_KEY = 'keylessFollowUp'

/** The notices a Slack listener defers, checked again when they arrive: an invocation is a trust boundary too. */
export const deferredNoticeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('grant-updated'), grant: grantSchema }),
  z.object({ kind: z.literal('request-closed'), grant: grantSchema, reason: z.string().optional() }),
  z.object({ kind: z.literal('extension-requested'), grant: grantSchema }),
  z.object({
    kind: z.literal('reply'),
    user: z.string(),
    channel: z.string().optional(),
    text: z.string().max(4000),
  }),
  z.object({ kind: z.literal('home-opened'), user: z.string() }),
])

export const deferredEventSchema = z.object({ [DEFERRED_KEY]: deferredNoticeSchema })
