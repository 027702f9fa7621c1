import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'

/** `keyless config validate [FILE]`: exit 0 with a summary, or the ConfigError with every problem. */
export async function configValidateCommand(file: string | undefined, io: CliIo): Promise<void> {
  const { config, file: path } = await commandConfig(file, io)
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`
  io.out(
    `${path} is valid: ${count(config.targets.size, 'target', 'targets')}, ${count(config.people.size, 'person', 'people')}, home region ${config.region}, regions ${config.regions.join(', ')}\n`,
  )
}
