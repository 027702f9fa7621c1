import { join } from 'node:path'
import { z } from 'zod'
import { startDevServer } from '../../local/dev-server.ts'
import { INSTANCES_FILE, localInstances } from '../../local/instances.ts'
import { logLine } from '../../local/log-line.ts'
import { LOCAL_DATA_DIR, runningControlPlane } from '../../local/operator-api.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'

const environment = z.object({
  PORT: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .refine((port) => port <= 65535)
    .optional()
    .transform((port) => port ?? 3000),
  KEYLESS_DATA_DIR: z.string().min(1).default(LOCAL_DATA_DIR),
  SLACK_SIGNING_SECRET: optionalSetting(z.string().min(8)),
  SLACK_BOT_TOKEN: optionalSetting(z.string().startsWith('xoxb-')),
  SLACK_APP_TOKEN: optionalSetting(z.string().startsWith('xapp-')),
  SLACK_API_URL: optionalSetting(z.url({ protocol: /^https?$/ })),
})

/** An environment variable set to the empty string counts as unset. */
function optionalSetting<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional())
}

const EXAMPLES: Record<string, string> = {
  PORT: 'a port number from 0 to 65535, e.g. PORT=3000',
  KEYLESS_DATA_DIR: 'a folder, e.g. .keyless',
  SLACK_SIGNING_SECRET: "your Slack app's signing secret (Basic Information → App Credentials)",
  SLACK_BOT_TOKEN: 'a bot token, xoxb-…',
  SLACK_APP_TOKEN: 'an app-level token with connections:write, xapp-…',
  SLACK_API_URL: 'an http(s) URL, e.g. http://127.0.0.1:9000/api/',
}

/**
 * `keyless dev` (what `npm start` runs): the local control plane until SIGINT or SIGTERM. With
 * no config named and no ./keyless.config.yaml, it runs on the shipped example config.
 */
export async function devCommand(options: { config?: string }, io: CliIo): Promise<void> {
  const env = environment.safeParse(io.env)
  if (!env.success) {
    const name = String(env.error.issues[0]?.path[0])
    // Secrets are never echoed back, even wrong ones.
    const shown =
      name.startsWith('SLACK_') && name !== 'SLACK_API_URL' ? '(hidden)' : JSON.stringify(io.env[name] ?? '')
    throw new KeylessError('INVALID_ENVIRONMENT', `${name}=${shown} is not ${EXAMPLES[name] ?? 'valid'}`)
  }
  await refuseSecondPlane(env.data.KEYLESS_DATA_DIR)
  const { config, file } = await commandConfig(options.config, io)
  const log = (message: string, details: Record<string, unknown> = {}) =>
    io.out(`${logLine({ time: new Date().toISOString(), message, ...details })}\n`)
  const instances = await localInstances(config, env.data.KEYLESS_DATA_DIR)
  const server = await startDevServer({
    config,
    instances,
    dataDir: env.data.KEYLESS_DATA_DIR,
    port: env.data.PORT,
    log,
    print: (text) => io.out(`${text}\n`),
    slack: {
      signingSecret: env.data.SLACK_SIGNING_SECRET,
      botToken: env.data.SLACK_BOT_TOKEN,
      appToken: env.data.SLACK_APP_TOKEN,
      apiUrl: env.data.SLACK_API_URL,
    },
  })
  const slack = env.data.SLACK_APP_TOKEN
    ? 'Slack over Socket Mode'
    : `Slack at POST ${server.url}/slack/events${env.data.SLACK_SIGNING_SECRET ? '' : ' (development signing secret)'}`
  const messages =
    env.data.SLACK_BOT_TOKEN || env.data.SLACK_API_URL
      ? ''
      : '; no SLACK_BOT_TOKEN, so Slack messages are printed here'
  io.out(
    `keyless local control plane listening on ${server.url} (config ${file}, data in ${env.data.KEYLESS_DATA_DIR}/; GET /healthz; ${slack}${messages})\n`,
  )
  io.out(
    `local instances (${join(env.data.KEYLESS_DATA_DIR, INSTANCES_FILE)} replaces them): ${instances.map((instance) => `${instance.instanceId} ${instance.region} ${JSON.stringify(instance.tags)}`).join('; ') || 'none'}; CloudTrail at POST ${server.url}/cloudtrail\n`,
  )
  await io.stopped()
  await server.close()
  io.out('keyless local control plane stopped\n')
}

/**
 * One control plane per data folder: the embedded DynamoDB's files are one process's alone. A
 * record left by a plane that was killed is not one that runs: it must also answer /healthz.
 */
async function refuseSecondPlane(dataDir: string): Promise<void> {
  const running = await runningControlPlane(dataDir)
  if (!running) return
  const answers = await fetch(`${running.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
    (response) => response.status === 200 || response.status === 503,
    () => false,
  )
  if (!answers) return
  throw new KeylessError(
    'ALREADY_RUNNING',
    `a keyless control plane already runs on ${dataDir}/ at ${running.url}${running.pid ? ` (pid ${running.pid})` : ''}: stop it first, or set KEYLESS_DATA_DIR to another folder`,
  )
}
