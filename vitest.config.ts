import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The longest files start first, so the last file to finish is a short one. Vitest orders by
 * the durations it cached on an earlier run; a clean clone (CI) has none, so the order is
 * written down: files not named here follow, largest first. The short soak goes second: it is
 * long but mostly waits on timers, so it leaves the CPU to the Slack function's file beside it.
 */
const LONGEST_FIRST = [
  'integration/slack-lambda',
  'soak/soak',
  'integration/npm-start-slack',
  'integration/grant-workflow',
  'unit/infra',
  'integration/dev-server',
  'integration/reconciler',
  'attack/attacks',
  'unit/cli',
  'policy/policy-compaction',
]

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = LONGEST_FIRST.findIndex((name) => file.moduleId.includes(`/test/${name}.test.ts`))
      return at === -1 ? LONGEST_FIRST.length : at
    }
    const bySize = await super.sort(files)
    return [...bySize].sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start an embedded DynamoDB each; the machine has two cores.
    maxWorkers: 2,
    // Files share a worker's loaded modules (the SDK, Bolt, the domain) instead of importing
    // them again each: that halves the suite. Tests keep no state in modules that another file
    // could see: grants carry their own client tokens where ids matter (goldens), and whatever
    // a file mocks or sets in the environment it restores.
    isolate: false,
    // The workers allocate fast (the SDK, the embedded DynamoDB, Slack's client): a larger young
    // generation spends less of the two cores on garbage collection.
    execArgv: ['--max-semi-space-size=32'],
    sequence: { sequencer: LongestFirst },
    testTimeout: 20_000,
    // npm 11 on Node 22 keeps a compile cache in the temp folder (os.tmpdir()/node-compile-cache);
    // the npm and npx the tests start would leave it there. The suite leaves the temp folder as it found it.
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
})
