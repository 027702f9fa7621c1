import type { Readable } from 'node:stream'
import { runCli } from '../../cli/program.ts'

/** Runs the keyless CLI in this process with its output captured: exit code, stdout, stderr. */
export async function runKeyless(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: Readable,
): Promise<{ code: number; stdout: string; stderr: string }> {
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
  return { code, stdout, stderr }
}
