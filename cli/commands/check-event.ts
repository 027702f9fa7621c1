import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { dataDirOf, MAX_VERDICT_BATCH, runningControlPlane } from '../../local/operator-api.ts'
import { reachByAddress } from '../../shared/core/alerts/evaluate.ts'
import { InputError, problemOf, readEvents } from '../../shared/core/alerts/input.ts'
import { type KeylessPieces, keylessPieces } from '../../shared/core/alerts/keyless-pieces.ts'
import { ignoredLine, verdictLine } from '../../shared/core/alerts/lines.ts'
import { otherWayFinding } from '../../shared/core/alerts/other-ways.ts'
import type { AccessEvent } from '../../shared/core/alerts/record.ts'
import { type AlertPolicy, alertPolicy, RULES, statelessFindings } from '../../shared/core/alerts/rules.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import { KeylessError } from '../../shared/core/errors.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'
import { operatorCall } from '../operator-client.ts'

/**
 * `keyless check-event [FILE|-] [--config F]` (docs/contract.md): every CloudTrail record in, one JSON
 * line out, in input order: the verdict of the alert rules, or `"ignored": true` for what they
 * do not cover. A malformed record is reported on stderr with its index and field, and the rest
 * are still evaluated; the exit code is then 1.
 *
 * The rules that need grants (NO_ACTIVE_GRANT, BREAK_GLASS) need a grant store: when a local
 * control plane runs with its data in KEYLESS_DATA_DIR (`.keyless/`), access events are judged
 * by it, in batches, against its grants and instances (nothing is stored or posted); otherwise
 * the rules that need no grants judge here, and a line names a target only when a command was
 * addressed to it by its tag.
 */
export async function checkEventCommand(
  file: string | undefined,
  options: { config?: string },
  io: CliIo,
): Promise<void> {
  const { config } = await commandConfig(options.config, io)
  const source = await open(file, io)
  const out = new LineWriter(io)
  const plane = await runningControlPlane(dataDirOf(io.env))
  const judge = plane ? new PlaneJudge(operatorCall(plane), out) : new StatelessJudge(config, out)
  io.err(
    plane
      ? `keyless: judging with the grants and instances of the local control plane at ${plane.url}\n`
      : `keyless: no local control plane runs (${dataDirOf(io.env)}/): only the rules that need no grants judge (${STATELESS_RULES}); NO_ACTIVE_GRANT and BREAK_GLASS need its grants, and SEND_COMMAND to instances named by id their tags\n`,
  )
  let malformed = 0
  let records = 0
  try {
    for await (const { index, read, record } of readEvents(source)) {
      records += 1
      if (read.kind === 'malformed') {
        malformed += 1
        io.err(`keyless: record ${index}: ${problemOf(read)}\n`)
      } else if (read.kind === 'ignored') {
        await judge.line(ignoredLine(read.eventId, read.eventName))
      } else {
        await judge.access(read.event, record)
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw new KeylessError('INVALID_INPUT', error.message)
    throw error
  } finally {
    // What was evaluated before the input failed is printed all the same.
    await judge.flush()
    await out.flush()
  }
  if (records === 0) throw new KeylessError('NO_RECORDS', 'no records in the input: nothing was evaluated')
  if (malformed > 0) {
    throw new KeylessError(
      'MALFORMED_RECORDS',
      `${malformed} record(s) could not be read (above); the others were evaluated`,
    )
  }
}

/** The rules check-event applies without a grant store. */
const STATELESS_RULES = RULES.filter((rule) => rule !== 'NO_ACTIVE_GRANT' && rule !== 'BREAK_GLASS').join(
  ', ',
)

interface Judge {
  /** A line that needs no judging (an ignored record), kept in its place. */
  line(line: object): Promise<void>
  access(event: AccessEvent, record: unknown): Promise<void>
  flush(): Promise<void>
}

/**
 * The rules that need only the record and the config, judged here: without instance tags, a
 * command counts as reaching a target only by its addressing (the targets' tag, or any other
 * addressing, which could reach any instance).
 */
class StatelessJudge implements Judge {
  readonly #config: KeylessConfig
  readonly #policy: AlertPolicy
  readonly #pieces: KeylessPieces
  readonly #out: LineWriter

  constructor(config: KeylessConfig, out: LineWriter) {
    this.#config = config
    this.#policy = alertPolicy(config)
    this.#pieces = keylessPieces(config)
    this.#out = out
  }

  line(line: object): Promise<void> {
    return this.#out.write(line)
  }

  access(event: AccessEvent): Promise<void> {
    const reach = reachByAddress(event, this.#config)
    const otherWay = otherWayFinding(event, reach, this.#pieces)
    return this.#out.write(
      verdictLine({
        eventId: event.eventId,
        eventName: event.eventName,
        principal: event.identity.arn,
        sourceIPAddress: event.sourceIPAddress,
        target: reach.targets[0]?.name ?? null,
        findings: [...statelessFindings(event, this.#policy), ...(otherWay ? [otherWay] : [])],
      }),
    )
  }

  async flush(): Promise<void> {}
}

const planeAnswer = z.object({ lines: z.array(z.looseObject({})) })

/** Every rule, judged by the running local control plane, a batch of records at a time, in order. */
class PlaneJudge implements Judge {
  readonly #call: ReturnType<typeof operatorCall>
  readonly #out: LineWriter
  /** Lines in input order; a record still to be judged holds its place. */
  #queue: (object | { record: unknown })[] = []
  #records = 0

  constructor(call: ReturnType<typeof operatorCall>, out: LineWriter) {
    this.#call = call
    this.#out = out
  }

  async line(line: object): Promise<void> {
    if (this.#records === 0) return this.#out.write(line)
    this.#queue.push(line)
  }

  async access(_event: AccessEvent, record: unknown): Promise<void> {
    this.#queue.push({ record })
    if (++this.#records >= MAX_VERDICT_BATCH) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#records === 0) return
    const queue = this.#queue
    const records = queue.flatMap((entry) => ('record' in entry ? [entry.record] : []))
    this.#queue = []
    this.#records = 0
    const answer = planeAnswer.parse(
      await this.#call('/operator/verdicts', { method: 'POST', body: JSON.stringify({ records }) }),
    )
    let next = 0
    for (const entry of queue) await this.#out.write('record' in entry ? (answer.lines[next++] ?? {}) : entry)
  }
}

/**
 * Output in batches (one write a line is a system call a line), waiting for the reader after
 * each: a million records never queue up in memory.
 */
class LineWriter {
  readonly #io: CliIo
  #batch = ''
  #lines = 0

  constructor(io: CliIo) {
    this.#io = io
  }

  async write(line: object): Promise<void> {
    this.#batch += `${JSON.stringify(line)}\n`
    if (++this.#lines % 256 === 0) await this.flush()
  }

  async flush(): Promise<void> {
    this.#io.out(this.#batch)
    this.#batch = ''
    await this.#io.drained?.()
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
