import { Logger } from '@aws-lambda-powertools/logger'
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { z } from 'zod'
import { createDocumentClient, createSecretsClient, createSfnClient } from '../../shared/aws/clients.ts'
import { systemClock } from '../../shared/clock.ts'
import { loadConfigFile } from '../../shared/config/load.ts'
import type { TaskDeps } from '../../shared/grants/tasks.ts'
import { LogNotifier } from '../../shared/notify/log-notifier.ts'
import { WebSlackApi } from '../../shared/slack/api.ts'
import { createSlackClient } from '../../shared/slack/client.ts'
import { SlackNotifier } from '../../shared/slack/notifier.ts'
import { DynamoGrantStore } from '../../shared/store/dynamo-grant-store.ts'
import { AwsWorkflow } from '../../shared/workflow/aws-workflow.ts'
import type { Workflow } from '../../shared/workflow/workflow.ts'

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
  SLACK_SECRET_ARN: z.string().startsWith('arn:').optional(),
})

/** What Secrets Manager holds for keyless: `{"signingSecret": "…", "botToken": "xoxb-…"}`. */
const slackSecretSchema = z.object({
  signingSecret: z.string().min(1),
  botToken: z.string().startsWith('xoxb-'),
})
export type SlackSecrets = z.infer<typeof slackSecretSchema>

let common: Promise<CommonDeps> | undefined
let documents: DynamoDBDocumentClient | undefined

/** The table every function reads and writes (grants and verdicts), and one client for it. */
export const tableName = (): string => environment.parse(process.env).TABLE_NAME
export function documentClient(): DynamoDBDocumentClient {
  documents ??= createDocumentClient()
  return documents
}
let secrets: Promise<SlackSecrets | undefined> | undefined

/** Slack's secrets, read once per cold start; undefined where no secret is configured. */
export function slackSecrets(): Promise<SlackSecrets | undefined> {
  secrets ??= readSlackSecrets()
  return secrets
}

async function readSlackSecrets(): Promise<SlackSecrets | undefined> {
  const arn = environment.parse(process.env).SLACK_SECRET_ARN
  if (!arn) return undefined
  const { SecretString } = await createSecretsClient().send(new GetSecretValueCommand({ SecretId: arn }))
  const parsed = slackSecretSchema.safeParse(JSON.parse(SecretString ?? '{}'))
  // Never log the secret's content: only which fields are wrong.
  if (!parsed.success) {
    throw new Error(
      `the Slack secret ${arn} must be JSON with signingSecret and botToken (xoxb-…): ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
    )
  }
  return parsed.data
}

/** What every function needs: the config, the grant store, the workflow, the notifier. */
export type CommonDeps = Omit<TaskDeps, 'backend' | 'workflow'> & { workflow: Workflow }

/** For functions that never touch IAM or SSM (the Slack function): no such clients are built. */
export function commonDeps(): Promise<CommonDeps> {
  common ??= build()
  return common
}

async function build(): Promise<CommonDeps> {
  const env = environment.parse(process.env)
  const config = await loadConfigFile(env.KEYLESS_CONFIG)
  const warn = (message: string, details: Record<string, unknown>) => logger.warn(message, details)
  const store = new DynamoGrantStore(documentClient(), env.TABLE_NAME)
  const slack = await slackSecrets()
  return {
    config,
    store,
    notifier: slack
      ? new SlackNotifier({
          config,
          store,
          slack: new WebSlackApi(createSlackClient(slack.botToken)),
          clock: systemClock,
          warn,
        })
      : new LogNotifier((message, details) => logger.info(message, details)),
    workflow: new AwsWorkflow(createSfnClient(), env.STATE_MACHINE_ARN),
    clock: systemClock,
    warn,
  }
}
