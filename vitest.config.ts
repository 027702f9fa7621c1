import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start an embedded DynamoDB each; the machine has two cores.
    maxWorkers: 2,
    testTimeout: 20_000,
  },
})
