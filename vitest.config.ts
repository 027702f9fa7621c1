import { defineConfig } from 'vitest/config'

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
    testTimeout: 20_000,
  },
})
