import { Logger } from '@aws-lambda-powertools/logger'
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { z } from 'zod'
import {
  createDocumentClient,
  createSecretsClient,
  createSfnClient,
} from '../../shared/adapters/aws/clients.ts'
import { AwsWorkflow } from '../../shared/adapters/aws/step-functions-workflow.ts'
import { DynamoGrantStore } from '../../shared/adapters/dynamodb/grant-store.ts'
import { WebSlackApi } from '../../shared/adapters/slack/api.ts'
import { createSlackClient } from '../../shared/adapters/slack/client.ts'
import { SlackNotifier } from '../../shared/adapters/slack/notifier.ts'
import { parseSlackSecret, type SlackSecrets } from '../../shared/adapters/slack/secret.ts'
import { systemClock } from '../../shared/core/clock.ts'
import { loadConfigFile } from '../../shared/core/config/load.ts'
import type { PlaneAdapters } from '../../shared/core/plane.ts'

/**
 * The composition root of every function in AWS: environment read and checked once, clients
 * built once per cold start, on first use rather than at import.
 */

export const logger = new Logger({ serviceName: 'keyless' })

const environment = z.object({
  TABLE_NAME: z.string().min(1),
  STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  // The validated config file is bundled with each function (see infra/).
  KEYLESS_CONFIG: z.string().default('keyless.config.yaml'),
  // Slack's signing secret and bot token, as JSON in Secrets Manager: never in the environment.
  SLACK_SECRET_ARN: z.string().startsWith('arn:'),
})

/**
 * How old the Slack secret read from Secrets Manager may be: a rotated secret takes effect
 * within five minutes, without a redeploy, at one GetSecretValue per warm function per period.
 */
export const SLACK_SECRET_MAX_AGE_SECONDS = 300

let documents: DynamoDBDocumentClient | undefined

/** The table every function reads and writes (grants and verdicts), and one client for it. */
export const tableName = (): string => environment.parse(process.env).TABLE_NAME
export function documentClient(): DynamoDBDocumentClient {
  documents ??= createDocumentClient()
  return documents
}

let secretsProvider: SecretsProvider | undefined

/**
 * Slack's secrets, at most SLACK_SECRET_MAX_AGE_SECONDS old (Powertools' cache; a failed read
 * is not cached, so the next call asks again). The
 * secret's text never appears in an error or a log line, only which of its fields are wrong.
 */
export async function slackSecrets(): Promise<SlackSecrets> {
  const arn = environment.parse(process.env).SLACK_SECRET_ARN
  secretsProvider ??= new SecretsProvider({ awsSdkV3Client: createSecretsClient() })
  const text = await secretsProvider.get(arn, { maxAge: SLACK_SECRET_MAX_AGE_SECONDS })
  return parseSlackSecret(arn, text)
}

/** The bot token as of now, for a Slack client built once per cold start. */
const botToken = async (): Promise<string> => (await slackSecrets()).botToken

/** The Slack Web API with the current bot token (read on each call through the secret's cache). */
export function webSlackApi(): WebSlackApi {
  slackApi ??= new WebSlackApi(createSlackClient(undefined), botToken)
  return slackApi
}
let slackApi: WebSlackApi | undefined

/** The adapters every function's plane is assembled from (shared/core/plane.ts); built once per cold start. */
export const commonDeps = memoizeSuccess(async (): Promise<PlaneAdapters> => {
  const env = environment.parse(process.env)
  const config = await loadConfigFile(env.KEYLESS_CONFIG)
  const warn = (message: string, details: Record<string, unknown>) => logger.warn(message, details)
  const store = new DynamoGrantStore(documentClient(), env.TABLE_NAME)
  return {
    config,
    store,
    notifier: new SlackNotifier({ config, store, slack: webSlackApi(), clock: systemClock, warn }),
    workflow: new AwsWorkflow(createSfnClient(), env.STATE_MACHINE_ARN),
    clock: systemClock,
    warn,
  }
})

/**
 * `build`, called once and its result kept, but only once it succeeded: a failure at cold
 * start (a throttled read) is not remembered, and the next invocation builds again.
 */
export function memoizeSuccess<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined
      throw error
    })
    return built
  }
}
