import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { InputError, problemOf, readEvents } from '../../shared/alerts/input.ts'
import { ignoredLine } from '../../shared/alerts/lines.ts'
import { alertPolicy, statelessFindings } from '../../shared/alerts/rules.ts'
import { configPath, loadConfigFile } from '../../shared/config/load.ts'
import { KeylessError } from '../../shared/errors.ts'
import type { CliIo } from '../io.ts'

/**
 * `keyless check-event [FILE|-] [--config F]` (SPEC.md): every CloudTrail record in, one JSON
 * line out, in input order: the verdict of the alert rules, or `"ignored": true` for what they
 * do not cover. A malformed record is reported on stderr with its index and field, and the rest
 * are still evaluated; the exit code is then 1. The stateless rules only, for now: the ones
 * that need grants (NO_ACTIVE_GRANT, BREAK_GLASS) come with the grant store lookup.
 */
export async function checkEventCommand(
  file: string | undefined,
  options: { config?: string },
  io: CliIo,
): Promise<void> {
  const config = await loadConfigFile(configPath(options.config, io.env))
  const policy = alertPolicy(config)
  const source = await open(file, io)
  let malformed = 0
  let count = 0
  let batch = ''
  try {
    for await (const { index, read } of readEvents(source)) {
      if (read.kind === 'malformed') {
        malformed += 1
        io.err(`keyless: record ${index}: ${problemOf(read)}\n`)
        continue
      }
      const line =
        read.kind === 'ignored'
          ? ignoredLine(read.eventId, read.eventName)
          : {
              eventID: read.event.eventId,
              eventName: read.event.eventName,
              principal: read.event.identity.arn,
              target: null,
              sourceIPAddress: read.event.sourceIPAddress,
              findings: statelessFindings(read.event, policy).map(({ rule, severity, detail }) => ({
                rule,
                severity,
                detail,
              })),
            }
      // Written in batches (one write a line is a system call a line), and the reader waited
      // for after each: a million records never queue up in memory.
      batch += `${JSON.stringify(line)}\n`
      if (++count % 256 === 0) {
        io.out(batch)
        batch = ''
        await io.drained?.()
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw new KeylessError('INVALID_INPUT', error.message)
    throw error
  } finally {
    // What was evaluated before the input failed is printed all the same.
    io.out(batch)
    await io.drained?.()
  }
  if (malformed > 0) {
    throw new KeylessError(
      'MALFORMED_RECORDS',
      `${malformed} record(s) could not be read (above); the others were evaluated`,
    )
  }
}

async function open(file: string | undefined, io: CliIo): Promise<Readable> {
  if (file === undefined || file === '-') {
    if (!io.stdin) throw new KeylessError('NO_INPUT', 'no standard input to read; name a file')
    return io.stdin
  }
  try {
    await access(file)
  } catch {
    throw new KeylessError('NO_INPUT', `cannot read ${file}: no such file`)
  }
  return createReadStream(file, { highWaterMark: 1 << 20 })
}
