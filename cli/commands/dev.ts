import { access } from 'node:fs/promises'
import { z } from 'zod'
import { startDevServer } from '../../local/dev-server.ts'
import { configPath, DEFAULT_CONFIG_FILE, loadConfigFile } from '../../shared/config/load.ts'
import { KeylessError } from '../../shared/errors.ts'
import type { CliIo } from '../io.ts'

export const EXAMPLE_CONFIG_FILE = 'keyless.config.example.yaml'

const environment = z.object({
  PORT: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .refine((port) => port <= 65535)
    .optional()
    .transform((port) => port ?? 3000),
  KEYLESS_DATA_DIR: z.string().min(1).default('.keyless'),
})

/**
 * `keyless dev` (what `npm start` runs): the local control plane until SIGINT or SIGTERM. With
 * no config named and no ./keyless.config.yaml, it runs on the shipped example config.
 */
export async function devCommand(options: { config?: string }, io: CliIo): Promise<void> {
  const env = environment.safeParse(io.env)
  if (!env.success) {
    const name = String(env.error.issues[0]?.path[0])
    const example =
      name === 'PORT' ? 'a port number from 0 to 65535, e.g. PORT=3000' : 'a folder, e.g. .keyless'
    throw new KeylessError(
      'INVALID_ENVIRONMENT',
      `${name}=${JSON.stringify(io.env[name] ?? '')} is not ${example}`,
    )
  }
  const file = await chooseConfig(options.config, io)
  const config = await loadConfigFile(file)
  const log = (message: string, details: Record<string, unknown> = {}) =>
    io.out(`${JSON.stringify({ time: new Date().toISOString(), message, ...details })}\n`)
  const server = await startDevServer({
    config,
    dataDir: env.data.KEYLESS_DATA_DIR,
    port: env.data.PORT,
    log,
  })
  io.out(
    `keyless local control plane listening on ${server.url} (config ${file}, data in ${env.data.KEYLESS_DATA_DIR}/; GET /healthz)\n`,
  )
  await io.stopped()
  await server.close()
  io.out('keyless local control plane stopped\n')
}

async function chooseConfig(flag: string | undefined, io: CliIo): Promise<string> {
  const chosen = configPath(flag, io.env)
  if (flag !== undefined || io.env.KEYLESS_CONFIG !== undefined || chosen !== DEFAULT_CONFIG_FILE)
    return chosen
  try {
    await access(DEFAULT_CONFIG_FILE)
    return DEFAULT_CONFIG_FILE
  } catch {
    io.out(`no ${DEFAULT_CONFIG_FILE} here: running on ${EXAMPLE_CONFIG_FILE}\n`)
    return EXAMPLE_CONFIG_FILE
  }
}
