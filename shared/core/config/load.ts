import { access, readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { KeylessError } from '../errors.ts'
import { closest } from './did-you-mean.ts'
import { type KeylessConfig, keylessConfigSchema, knownKeysAt } from './schema.ts'

export const DEFAULT_CONFIG_FILE = 'keyless.config.yaml'

/** The commented example the repository ships: what runs when no config is named or present. */
export const EXAMPLE_CONFIG_FILE = 'keyless.config.example.yaml'

/** Where the config in use was named: `--config`, `$KEYLESS_CONFIG`, `./keyless.config.yaml`, or nowhere (the example). */
export type ConfigSource = 'flag' | 'env' | 'default' | 'example'

/**
 * The config every command, `npm start` and `cdk synth` use: `--config`, else `$KEYLESS_CONFIG`,
 * else `./keyless.config.yaml`, else the shipped example, so each works on a fresh clone.
 */
export async function chooseConfigFile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ file: string; source: ConfigSource }> {
  if (flag !== undefined) return { file: flag, source: 'flag' }
  if (env.KEYLESS_CONFIG) return { file: env.KEYLESS_CONFIG, source: 'env' }
  try {
    await access(DEFAULT_CONFIG_FILE)
    return { file: DEFAULT_CONFIG_FILE, source: 'default' }
  } catch {
    return { file: EXAMPLE_CONFIG_FILE, source: 'example' }
  }
}

/** One line saying which config is in use and why: what every command prints on stderr. */
export function describeConfigChoice({ file, source }: { file: string; source: ConfigSource }): string {
  const why = {
    flag: 'named on the command line',
    env: '$KEYLESS_CONFIG',
    default: `./${DEFAULT_CONFIG_FILE}`,
    example: `the shipped example: no ./${DEFAULT_CONFIG_FILE} here`,
  }[source]
  return source === 'default' ? `config ${file}` : `config ${file} (${why})`
}

/** A config file that cannot be used, with every problem in it, each naming its path. */
export class ConfigError extends KeylessError {
  override name = 'ConfigError'
  readonly problems: string[]

  constructor(source: string, problems: string[]) {
    super('INVALID_CONFIG', `${source} is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`)
    this.problems = problems
  }
}

export async function loadConfigFile(path: string): Promise<KeylessConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new ConfigError(path, [
      `cannot read the config file (${reason}); pass --config FILE or set KEYLESS_CONFIG`,
    ])
  }
  return parseConfig(text, path)
}

/** Parses and validates config text; throws a ConfigError listing every problem found. */
export function parseConfig(text: string, source = 'config'): KeylessConfig {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => {
        const at = error.linePos?.[0]
        const where = at ? `line ${at.line}, column ${at.col}` : 'YAML'
        return `${where}: ${error.message.split(' at line ')[0]?.split('\n')[0]}`
      }),
    )
  }
  const result = keylessConfigSchema.safeParse(document.toJS() ?? {})
  if (!result.success) throw new ConfigError(source, result.error.issues.map(describeIssue))
  return result.data
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path)
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const hint = closest(key, knownKeysAt(issue.path))
        return `${path || '(top level)'}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`
      })
      .join('\n  ')
  }
  if (issue.code === 'invalid_key') {
    return `${path}: ${issue.issues.map((inner) => inner.message).join('; ')}`
  }
  return `${path || '(top level)'}: ${issue.message}`
}

/** `targets.prod-db.maxDuration`, `alerts.allowedSourceCidrs[1]`, `targets["prod db"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment))
      text += text ? `.${segment}` : segment
    else text += `[${JSON.stringify(String(segment))}]`
  }
  return text
}
