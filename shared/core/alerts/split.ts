/**
 * Cuts a stream of JSON text into its elements without parsing them: the values of a
 * top-level array (`layout: 'array'`), of a CloudTrail log file's `Records` array
 * (`'records'`), or a run of top-level values one after another (`'values'`). Each element's
 * bytes are then parsed by the native JSON.parse, which is many times faster than a streaming
 * tokenizer (stream-json read CloudTrail at 9,700 records/s here; this reads several times
 * that), while memory stays that of one element.
 *
 * It tracks only what delimits an element: nesting of `{}` and `[]`, and strings (with their
 * escapes), so a brace inside a string never counts. Whether an element is valid JSON is
 * JSON.parse's to say.
 */

export type Layout = 'array' | 'records' | 'values'

export type Piece = { text: string } | { truncated: true } | { oversized: number }

/**
 * The largest element kept: CloudTrail's records are kilobytes (EventBridge carries at most
 * 256 KB), so a larger one is not a record, and is skipped rather than held in memory.
 */
export const MAX_ELEMENT_BYTES = 1024 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

export async function* splitElements(
  chunks: AsyncIterable<Buffer>,
  layout: Layout,
  maxBytes = MAX_ELEMENT_BYTES,
): AsyncGenerator<Piece> {
  // Depth at which elements sit: inside the top-level array, inside {"Records": [...]}, or at the top.
  const elementDepth = layout === 'array' ? 1 : layout === 'records' ? 2 : 0
  let depth = 0
  let inString = false
  let escaped = false
  let done = false
  /** The element being read: whole chunks and the slice offsets where it started. */
  let parts: Buffer[] = []
  let inElement = false
  /** An element that is a bare number, true, false or null ends at a delimiter, not a bracket. */
  let scalar = false
  /** Bytes of the element so far; past maxBytes its parts are dropped and only counted. */
  let size = 0

  const finish = (chunk: Buffer, end: number): Piece => {
    const total = size + end
    const piece =
      total > maxBytes
        ? { oversized: total }
        : { text: Buffer.concat([...parts, chunk.subarray(0, end)]).toString('utf8') }
    parts = []
    size = 0
    inElement = false
    scalar = false
    return piece
  }

  for await (const chunk of chunks) {
    if (done) continue
    let start = 0
    // Where the next backslash is, found once and again only once passed: they are rare.
    let nextBackslash = chunk.indexOf(BACKSLASH)
    for (let i = 0; i < chunk.length; i++) {
      if (inString) {
        if (escaped) {
          escaped = false
          continue
        }
        // Most bytes are inside strings: jump to the next quote or backslash natively.
        const quote = chunk.indexOf(QUOTE, i)
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i)
        if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
          i = nextBackslash
          escaped = true
          continue
        }
        if (quote === -1) break // the string goes on in the next chunk
        i = quote
      }
      const byte = chunk[i] as number
      if (inString) {
        if (byte === QUOTE) {
          inString = false
          if (inElement && depth === elementDepth && !scalar) {
            // A string element ends with its closing quote.
            yield finish(chunk.subarray(start), i + 1 - start)
            start = i + 1
          }
        }
        continue
      }
      if (!inElement) {
        if (depth === elementDepth && byte === CLOSE_BRACKET && layout !== 'values') {
          done = true // the array of elements is closed: what follows is not read
          break
        }
        if (depth === elementDepth && !isSpace(byte) && byte !== COMMA) {
          inElement = true
          parts = []
          size = 0
          start = i
          if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET && byte !== QUOTE) scalar = true
        }
      } else if (scalar && (isSpace(byte) || byte === COMMA || byte === CLOSE_BRACKET)) {
        yield finish(chunk.subarray(start), i - start)
        start = i
        if (byte === CLOSE_BRACKET && layout !== 'values') {
          done = true
          break
        }
        continue
      }
      if (byte === QUOTE) inString = true
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth += 1
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth -= 1
        if (inElement && depth === elementDepth) {
          yield finish(chunk.subarray(start), i + 1 - start)
          start = i + 1
        }
      }
    }
    if (inElement && !done) {
      size += chunk.length - start
      if (size <= maxBytes) parts.push(chunk.subarray(start))
      else parts = []
    }
  }
  if (inElement && scalar && !inString) {
    yield size > maxBytes ? { oversized: size } : { text: Buffer.concat(parts).toString('utf8') }
  } else if (inElement || inString || (!done && layout !== 'values')) {
    yield { truncated: true }
  }
}
