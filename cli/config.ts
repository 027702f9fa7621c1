import { chooseConfigFile, describeConfigChoice, loadConfigFile } from '../shared/core/config/load.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import type { CliIo } from './io.ts'

/**
 * The config a command runs on, found as `npm start` finds it (`--config`, `$KEYLESS_CONFIG`,
 * `./keyless.config.yaml`, else the shipped example) and named on stderr, so that output on
 * stdout stays what the command prints and nobody wonders which file was read.
 */
export async function commandConfig(
  flag: string | undefined,
  io: CliIo,
): Promise<{ config: KeylessConfig; file: string }> {
  const choice = await chooseConfigFile(flag, io.env)
  io.err(`keyless: ${describeConfigChoice(choice)}\n`)
  return { config: await loadConfigFile(choice.file), file: choice.file }
}
