#!/usr/bin/env node
import { processIo } from './io.ts'
import { runCli } from './program.ts'

process.exitCode = await runCli(process.argv.slice(2), processIo)
if (process.argv[2] === 'dev') {
  // `keyless dev` has closed everything it opened when runCli returns. What can remain is an
  // idle keep-alive connection of Node's fetch to Slack's API, which would hold the process
  // for seconds more and which nothing public closes; an unref'd timer ends it, or nothing.
  setTimeout(() => process.exit(), 200).unref()
}
