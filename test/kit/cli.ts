import type { Readable } from 'node:stream'
import { runCli } from '../../cli/program.ts'

/**
 * Runs the keyless CLI in this process with its output captured: exit code, stdout, stderr.
 * The line naming the config in use (every command that reads one prints it first) is kept
 * apart as `config`, so each test asserts what else the command said.
 */
export async function runKeyless(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: Readable,
): Promise<{ code: number; stdout: string; stderr: string; config?: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    out: (text) => {
      stdout += text
    },
    err: (text) => {
      stderr += text
    },
    env,
    ...(stdin ? { stdin } : {}),
    stopped: () => Promise.resolve(),
  })
  const config = /^keyless: (config .*)\n/.exec(stderr)
  return config?.[1]
    ? { code, stdout, stderr: stderr.slice(config[0].length), config: config[1] }
    : { code, stdout, stderr }
}
