import { once } from 'node:events'
import type { Readable } from 'node:stream'

/** Where a command reads and writes, and what ends a long-running one: the process's in use, fakes in tests. */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  /** Standard input, for commands that read `-`. */
  stdin?: Readable
  /** Resolves once what `out` wrote has drained: a long output never piles up in memory. */
  drained?: () => Promise<void>
  env: NodeJS.ProcessEnv
  /** Resolves when a long-running command (`keyless dev`) should stop. */
  stopped(): Promise<void>
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: process.stdin,
  drained: async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain')
  },
  env: process.env,
  stopped: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
      process.once('SIGHUP', () => resolve())
      // Whoever started this process (npm, a shell, a supervisor) is gone when it is adopted by
      // another: SIGTERM to `npm start` kills npm and its shell without passing the signal on.
      const parent = process.ppid
      setInterval(() => {
        if (process.ppid !== parent) resolve()
      }, PARENT_CHECK_MS).unref()
    }),
}

/** How often a long-running command checks that the process that started it still runs. */
const PARENT_CHECK_MS = 250
