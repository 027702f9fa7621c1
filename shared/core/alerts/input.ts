import { PassThrough, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { type ReadRecord, readRecord } from './record.ts'
import { type Layout, MAX_ELEMENT_BYTES, splitElements } from './split.ts'

/**
 * CloudTrail input in every form keyless reads (docs/contract.md `check-event`): one record, an
 * EventBridge envelope (`detail-type: AWS API Call via CloudTrail`), a JSON array of either,
 * records one after another (JSON lines), or a CloudTrail log file `{"Records": [...]}`, plain
 * or gzipped as CloudTrail writes it to S3. Records are cut from the stream and parsed one at a
 * time, so a day of an organisation's trail goes through in the memory of one record.
 */

export type InputRecord =
  /** `record` is the CloudTrail record, unwrapped from its EventBridge envelope. */
  | { index: number; record: unknown }
  /** A record that is not JSON: reported by its position, and the rest read on. */
  | { index: number; invalid: string }

/** The input as a whole cannot be read on (it ends inside a record, or is not CloudTrail JSON). */
export class InputError extends Error {
  override name = 'InputError'
}

const GZIP_MAGIC = [0x1f, 0x8b]

export async function* readCloudTrail(source: Readable): AsyncGenerator<InputRecord> {
  let index = 0
  try {
    const { head, rest } = await peek(source, 2)
    const text = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? rest.pipe(createGunzip()) : rest
    const { head: start, rest: body } = await peek(text, 64)
    const opening = start.toString('utf8').trimStart()
    if (opening === '') return
    const layout: Layout = opening.startsWith('[')
      ? 'array'
      : /^\{\s*"Records"\s*:\s*\[/.test(opening)
        ? 'records'
        : 'values'
    // Input whose first value is not a JSON object (plain text, a log line, a number) is not
    // CloudTrail: said once, with the first problem and how many values were read, rather than
    // as a malformed "record" per word.
    let notCloudTrail: { start: string; problem: string; values: number } | undefined
    const refuse = (text: string, problem: string) => {
      notCloudTrail = { start: text.length > 24 ? `${text.slice(0, 24)}…` : text, problem, values: 1 }
    }
    for await (const piece of splitElements(body, layout)) {
      if (notCloudTrail) {
        if (!('truncated' in piece)) notCloudTrail.values += 1
        continue
      }
      if ('truncated' in piece) throw new InputError(`the input ends inside record ${index}: it is cut short`)
      if ('oversized' in piece) {
        yield {
          index: index++,
          invalid: `is ${piece.oversized} bytes, over the ${MAX_ELEMENT_BYTES} a CloudTrail record can be: skipped`,
        }
        continue
      }
      let record: unknown
      try {
        record = unwrap(JSON.parse(piece.text))
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error
        if (index === 0 && layout === 'values') {
          refuse(piece.text, 'it is not JSON')
          continue
        }
        yield { index: index++, invalid: `is not valid JSON (${error.message})` }
        continue
      }
      if (index === 0 && layout === 'values' && (typeof record !== 'object' || record === null)) {
        refuse(piece.text, 'it is JSON but not a record')
        continue
      }
      yield { index: index++, record }
    }
    if (notCloudTrail) {
      const { start, problem, values } = notCloudTrail
      throw new InputError(
        `the input is not CloudTrail JSON: expected records ({…}, one after another), an array of them ([…]) or a log file ({"Records": […]}); it starts with ${JSON.stringify(start)}: ${problem}; ${values} value(s) read, none of them a record`,
      )
    }
  } catch (error) {
    if (error instanceof InputError) throw error
    // A gzip stream that is corrupt, or a file that cannot be read on.
    throw new InputError(`the input cannot be read after record ${index}: ${(error as Error).message}`)
  }
}

/**
 * Every record of the input, read: an access event, a record the rules ignore, or one that is
 * malformed; with the record itself when it was JSON.
 */
export async function* readEvents(
  source: Readable,
): AsyncGenerator<{ index: number; read: ReadRecord; record?: unknown }> {
  for await (const input of readCloudTrail(source)) {
    if ('invalid' in input) {
      yield { index: input.index, read: { kind: 'malformed', field: '', problem: input.invalid } }
    } else {
      yield { index: input.index, read: readRecord(input.record), record: input.record }
    }
  }
}

/** What is wrong with a malformed record, in one line: the field, then the problem. */
export const problemOf = (read: { field: string; problem: string }): string =>
  read.field ? `${read.field} ${read.problem}` : read.problem

/** An EventBridge envelope's CloudTrail record; anything else as it is. */
export function unwrap(value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['detail-type'] === 'AWS API Call via CloudTrail'
  ) {
    return (value as { detail?: unknown }).detail
  }
  return value
}

/** The first `bytes` bytes of a stream (fewer if it ends), and a stream of all of it. */
async function peek(source: Readable, bytes: number): Promise<{ head: Buffer; rest: Readable }> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of source.iterator({ destroyOnReturn: false })) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    chunks.push(buffer)
    length += buffer.length
    if (length >= bytes) break
  }
  const rest = new PassThrough()
  for (const chunk of chunks) rest.write(chunk)
  source.once('error', (error) => rest.destroy(error))
  source.pipe(rest)
  return { head: Buffer.concat(chunks).subarray(0, bytes), rest }
}
