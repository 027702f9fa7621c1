import { AsyncLocalStorage } from 'node:async_hooks'
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { expect } from 'vitest'
import { boltLogger } from '../../functions/slack/app.ts'
import { type HttpResponse, raw as slackFunction } from '../../functions/slack/handler.ts'
import { InvokeLaterNotifier } from '../../functions/slack/later.ts'
import { LocalAccessBackend } from '../../local/access-backend.ts'
import { createLocalControlPlane } from '../../local/control-plane.ts'
import { type SlackApi, WebSlackApi } from '../../shared/adapters/slack/api.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { SlackNotifier } from '../../shared/adapters/slack/notifier.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import { type Grant, type GrantStatus, grantIdFor } from '../../shared/core/grants/grant.ts'
import { startEmbeddedDynamo } from './dynamo.ts'
import { INSTANCES, workflowConfig } from './plane.ts'
import { untilGrant } from './poll.ts'
import {
  buttonBody,
  commandBody,
  functionUrlEvent,
  newTrigger,
  type SignedRequest,
  type SlackRecorder,
  signed,
  startSlackRecorder,
  TEST_SIGNING_SECRET,
} from './slack.ts'

let tables = 0

/**
 * keyless's Slack function as Lambda runs it, on this machine: the real handler (Bolt's
 * AwsLambdaReceiver, real signature checks) over the embedded DynamoDB, the real state
 * machine in the local runner and the local IAM/SSM stand-in; Slack's Web API is a loopback
 * recorder. Follow-ups go out through the real InvokeLaterNotifier to a mocked Lambda client
 * (the SDK boundary), which hands each one back to the handler the way Lambda would.
 */
export async function startSlackPlane(
  options: { config?: KeylessConfig; expiryWarningSeconds?: number; slack?: SlackRecorder } = {},
) {
  const config = options.config ?? workflowConfig()
  const db = await startEmbeddedDynamo(`slack-grants-${++tables}`)
  const slack = options.slack ?? (await startSlackRecorder())
  const backend = new LocalAccessBackend(INSTANCES)
  const warnings: string[] = []
  const errors: { message: string; details: Record<string, unknown> }[] = []
  const warn = (message: string, details: Record<string, unknown>) =>
    warnings.push(`${message} ${JSON.stringify(details)}`)
  // In Lambda the HTTP response waits for the listener; a Slack call on that path delays it.
  // Calls are counted on the request's own async path: the workflow's tasks and the deferred
  // follow-ups run in other invocations in AWS, so here they run outside that path.
  const onRequestPath = new AsyncLocalStorage<boolean>()
  let callsOnRequestPath = 0
  const counted = (api: SlackApi): SlackApi =>
    new Proxy(api, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (onRequestPath.getStore()) callsOnRequestPath += 1
          return value.apply(target, args)
        }
      },
    })
  const notifier = new SlackNotifier({
    config,
    store: db.store,
    slack: counted(new WebSlackApi(createSlackClient('xoxb-test', { slackApiUrl: slack.url }))),
    clock: systemClock,
    warn,
  })
  const plane = await createLocalControlPlane({
    config,
    store: db.store,
    backend,
    notifier,
    clock: systemClock,
    warn,
    retryIntervalMs: 5,
    intercept: (_task, run) => (payload) => onRequestPath.run(false, () => run(payload)),
    ...(options.expiryWarningSeconds === undefined
      ? {}
      : { expiryWarningSeconds: options.expiryWarningSeconds }),
  })

  // This plane's own client, mocked alone: planes running side by side never see each other's follow-ups.
  const lambdaClient = new LambdaClient({ region: 'eu-west-1' })
  const lambda = mockClient(lambdaClient)
  const followUps = new Set<Promise<unknown>>()
  const invocations: unknown[] = []
  const handler = slackFunction({
    surface: {
      control: plane.control,
      later: new InvokeLaterNotifier(lambdaClient, 'keyless-slack'),
      error: (message, details) => errors.push({ message, details }),
    },
    notifier,
    signingSecret: TEST_SIGNING_SECRET,
    botToken: 'xoxb-test',
    slackApiUrl: slack.url,
    logger: boltLogger(() => {}),
  })
  lambda.on(InvokeCommand).callsFake(async (input: { Payload?: Uint8Array | string }) => {
    const payload =
      typeof input.Payload === 'string' ? input.Payload : new TextDecoder().decode(input.Payload)
    const event = JSON.parse(payload)
    invocations.push(event)
    // Lambda queues the event and runs it later, in another invocation of the same function.
    const running = onRequestPath.run(false, () =>
      new Promise((resolve) => setImmediate(resolve)).then(() => handler(event)),
    )
    followUps.add(running)
    void running.finally(() => followUps.delete(running))
    return { StatusCode: 202 }
  })

  /** One HTTP request through the function, and how many Slack calls it made before answering. */
  const send = async (request: SignedRequest, options: { base64?: boolean } = {}) => {
    const before = callsOnRequestPath
    const response = (await onRequestPath.run(true, () =>
      handler(functionUrlEvent(request, options)),
    )) as HttpResponse
    return { ...response, slackCallsBeforeResponse: callsOnRequestPath - before }
  }

  /** `/access <text>` typed by `user`: the response, its ephemeral text, and the grant id it would name. */
  const command = async (text: string, user = 'U0ALICE', trigger = newTrigger()) => {
    const response = await send(signed(commandBody(user, text, trigger)))
    return { response, text: ephemeralText(response), grantId: grantIdFor(trigger), trigger }
  }

  /** A click on one of keyless's buttons: in a message in `channel`, or in App Home. */
  const click = (user: string, action: string, value: string, channel?: string) =>
    send(signed(buttonBody(user, action, value, channel)))

  const until = (grantId: string, check: (grant: Grant) => boolean, timeoutMs = 8000): Promise<Grant> =>
    untilGrant(db.store, grantId, check, timeoutMs)

  return {
    config,
    db,
    slack,
    backend,
    plane,
    handler,
    invocations,
    warnings,
    errors,
    send,
    command,
    click,
    until,
    untilStatus: (grantId: string, status: GrantStatus) => until(grantId, (grant) => grant.status === status),
    /** Every follow-up handed to "another invocation" so far is done, and the ones they led to. */
    settled: async () => {
      while (followUps.size > 0) await Promise.all(followUps)
    },
    close: async () => {
      await plane.workflow.stop()
      while (followUps.size > 0) await Promise.all(followUps)
      lambda.restore()
      if (!options.slack) await slack.close()
      await db.close()
    },
  }
}

export type SlackPlane = Awaited<ReturnType<typeof startSlackPlane>>

/** The ephemeral reply Slack shows the person who typed the command. */
export function ephemeralText(response: { statusCode: number; body: string }): string {
  expect(response.statusCode).toBe(200)
  const body = JSON.parse(response.body) as { response_type: string; text: string }
  expect(body.response_type).toBe('ephemeral')
  return body.text
}
