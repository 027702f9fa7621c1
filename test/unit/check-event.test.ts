import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { splitElements } from '../../shared/core/alerts/split.ts'
import { runKeyless } from '../kit/cli.ts'

const FIXTURES = new URL('../fixtures/cloudtrail/', import.meta.url)
let dir: string
/** A data folder no control plane runs in (an operator's own `.keyless/` must not change these results). */
const noPlane = () => ({ KEYLESS_DATA_DIR: join(dir, 'no-plane') })
let records: Record<string, unknown>[]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-check-event-'))
  const names = (await readdir(FIXTURES)).filter((name) => name.endsWith('.json')).sort()
  records = await Promise.all(
    names.map(async (name) => JSON.parse(await readFile(new URL(name, FIXTURES), 'utf8'))),
  )
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const CONFIG = ['--config', 'keyless.config.example.yaml']
/** What check-event says first when no control plane runs. */
const stateless = () =>
  `keyless: no local control plane runs (${join(dir, 'no-plane')}/): only the rules that need no grants judge (NO_MFA, UNEXPECTED_SOURCE_IP, ACCESS_DENIED, ROOT_ACCESS, SEND_COMMAND, OPEN_TUNNEL, GUI_CONNECTION, SERIAL_CONSOLE, TRAIL_TAMPERED, KEYLESS_TAMPERED); NO_ACTIVE_GRANT and BREAK_GLASS need its grants, and SEND_COMMAND to instances named by id their tags\n`
const stdin = (text: string | Buffer) => Readable.from([text])
const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
const unwrapped = () =>
  records.map((record) => ('detail' in record ? record.detail : record)) as Record<string, unknown>[]

describe('keyless check-event', () => {
  it('prints one line per event, in input order, for records one after another on stdin', async () => {
    const input = records.map((record) => JSON.stringify(record, null, 2)).join('\n')
    const { code, stdout, stderr } = await runKeyless(
      ['check-event', '-', ...CONFIG],
      noPlane(),
      stdin(input),
    )
    expect({ code, stderr }).toEqual({ code: 0, stderr: stateless() })
    const out = lines(stdout)
    expect(out.map((line) => line.eventID)).toEqual(unwrapped().map((record) => record.eventID))
    expect(out.find((line) => line.eventName === 'TerminateSession')).toEqual({
      eventID: '55555555-6666-4777-8888-999999999999',
      eventName: 'TerminateSession',
      ignored: true,
    })
    expect(out.find((line) => line.eventID === '22222222-3333-4444-8555-666666666666')).toEqual({
      eventID: '22222222-3333-4444-8555-666666666666',
      eventName: 'StartSession',
      principal: 'arn:aws:sts::111122223333:assumed-role/dave-ops/dave',
      target: null,
      sourceIPAddress: '192.0.2.200',
      findings: [
        { rule: 'NO_MFA', severity: 'high', detail: expect.stringContaining('without MFA') },
        {
          rule: 'UNEXPECTED_SOURCE_IP',
          severity: 'high',
          detail: expect.stringContaining('from 192.0.2.200'),
        },
      ],
    })
  })

  it('judges every other way in without a plane: each fixture its rule, a command only by its addressing', async () => {
    const { stdout } = await runKeyless(
      ['check-event', '-', ...CONFIG],
      noPlane(),
      stdin(records.map((r) => JSON.stringify(r)).join('\n')),
    )
    const rulesOf = (eventName: string) =>
      lines(stdout)
        .filter((line) => line.eventName === eventName)
        .map((line) => line.findings.map((finding: { rule: string }) => finding.rule))
    expect(rulesOf('OpenTunnel')).toEqual([['NO_MFA', 'UNEXPECTED_SOURCE_IP', 'OPEN_TUNNEL']])
    expect(rulesOf('StopLogging')).toEqual([['TRAIL_TAMPERED']])
    expect(rulesOf('DisableRule')).toEqual([['KEYLESS_TAMPERED']])
    expect(rulesOf('EnableSerialConsoleAccess')).toEqual([['SERIAL_CONSOLE']])
    // By tag (send-command-by-tag.json, first) it could reach any instance; by id only the
    // instance's tags would tell, and a plane has them.
    expect(rulesOf('SendCommand')).toEqual([['NO_MFA', 'SEND_COMMAND'], ['NO_MFA']])
    expect(rulesOf('PutParameter')).toEqual([[]])
  })

  it('reads a CloudTrail log file, gzipped as in S3, an array of envelopes, and a single record alike', async () => {
    const expected = (
      await runKeyless(
        ['check-event', '-', ...CONFIG],
        noPlane(),
        stdin(records.map((r) => JSON.stringify(r)).join('\n')),
      )
    ).stdout
    const logFile = join(dir, 'cloudtrail.json.gz')
    await writeFile(logFile, gzipSync(JSON.stringify({ Records: unwrapped() })))
    expect(await runKeyless(['check-event', logFile, ...CONFIG], noPlane())).toEqual({
      code: 0,
      stdout: expected,
      stderr: stateless(),
      config: 'config keyless.config.example.yaml (named on the command line)',
    })
    const array = await runKeyless(['check-event', ...CONFIG], noPlane(), stdin(JSON.stringify(records)))
    expect(array.stdout).toBe(expected)
    const single = await runKeyless(['check-event', ...CONFIG], noPlane(), stdin(JSON.stringify(records[0])))
    expect(lines(single.stdout)).toHaveLength(1)
  })

  it('reports a bad record by position and field, evaluates the rest, and exits 1', async () => {
    const [first, second] = unwrapped()
    const { eventID: _, ...noId } = second as Record<string, unknown>
    // Not JSON, but delimited: a trailing comma. (Mismatched brackets cannot be delimited by anyone.)
    const input = `{"Records": [${JSON.stringify(first)}, ${JSON.stringify(noId)}, {"eventName": "StartSession",}, ${JSON.stringify(first)}]}`
    const { code, stdout, stderr } = await runKeyless(['check-event', ...CONFIG], noPlane(), stdin(input))
    expect(code).toBe(1)
    expect(lines(stdout)).toHaveLength(2)
    expect(stderr.split('\n')).toEqual([
      stateless().trim(),
      'keyless: record 1: eventID is missing',
      expect.stringMatching(/^keyless: record 2: is not valid JSON/),
      'keyless: 2 record(s) could not be read (above); the others were evaluated',
      '',
    ])
  })

  it('skips an oversized record, read in small chunks and never held whole, and evaluates the rest', async () => {
    const [first] = unwrapped()
    const huge = JSON.stringify({ eventName: 'StartSession', padding: 'x'.repeat(3 * 1024 * 1024) })
    const text = `[${JSON.stringify(first)}, ${huge}, ${JSON.stringify(first)}]`
    // 64 KB chunks, as a pipe delivers them.
    const chunks = Array.from({ length: Math.ceil(text.length / 65536) }, (_, n) =>
      Buffer.from(text.slice(n * 65536, (n + 1) * 65536)),
    )
    const { code, stdout, stderr } = await runKeyless(
      ['check-event', ...CONFIG],
      noPlane(),
      Readable.from(chunks),
    )
    expect(code).toBe(1)
    expect(lines(stdout)).toHaveLength(2)
    expect(stderr.split('\n')[1]).toBe(
      `keyless: record 1: is ${Buffer.byteLength(huge)} bytes, over the 1048576 a CloudTrail record can be: skipped`,
    )
  })

  it('says in one line where input that cannot be read on stops, never a stack trace', async () => {
    const cut = `{"Records": [${JSON.stringify(unwrapped()[0])}, {"eventVersion": "1.09", "userIdent`
    const truncated = await runKeyless(['check-event', ...CONFIG], noPlane(), stdin(cut))
    expect(truncated).toMatchObject({
      code: 1,
      stderr: `${stateless()}keyless: the input ends inside record 1: it is cut short\n`,
    })
    expect(lines(truncated.stdout)).toHaveLength(1)
    const corrupt = await runKeyless(
      ['check-event', ...CONFIG],
      noPlane(),
      stdin(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4])),
    )
    expect(corrupt.code).toBe(1)
    expect(corrupt.stderr.slice(stateless().length)).toMatch(
      /^keyless: the input cannot be read after record 0: .*\n$/,
    )
    expect(await runKeyless(['check-event', join(dir, 'nope.json'), ...CONFIG], noPlane())).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `keyless: cannot read ${join(dir, 'nope.json')}: no such file\n`,
    })
  })

  it('refuses input that is not CloudTrail JSON in one line, and empty input, with exit 1', async () => {
    const prose = await runKeyless(
      ['check-event', ...CONFIG],
      noPlane(),
      stdin('this is not json at all, just a few words\n'),
    )
    expect(prose).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `${stateless()}keyless: the input is not CloudTrail JSON: expected records ({…}, one after another), an array of them ([…]) or a log file ({"Records": […]}); it starts with "this": it is not JSON; 10 value(s) read, none of them a record\n`,
    })
    const numbers = await runKeyless(['check-event', ...CONFIG], noPlane(), stdin('1 2 3'))
    expect(numbers.stderr).toContain('it starts with "1": it is JSON but not a record; 3 value(s) read')
    for (const empty of ['', '  \n\n']) {
      expect(await runKeyless(['check-event', ...CONFIG], noPlane(), stdin(empty))).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `${stateless()}keyless: no records in the input: nothing was evaluated\n`,
      })
    }
  })
})

describe('cutting JSON into records', () => {
  it('yields exactly the elements JSON.parse sees, whatever the chunk boundaries', async () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        tie('object'),
        tie('array'),
      ),
      object: fc.dictionary(fc.string(), tie('any'), { maxKeys: 4 }),
      array: fc.array(tie('any'), { maxLength: 4 }),
    }))
    await fc.assert(
      fc.asyncProperty(
        fc.array(value.object, { maxLength: 6 }),
        fc.integer({ min: 1, max: 40 }),
        async (elements, size) => {
          const text = Buffer.from(JSON.stringify({ Records: elements }))
          const chunks = async function* () {
            for (let i = 0; i < text.length; i += size) yield text.subarray(i, i + size)
          }
          const out: unknown[] = []
          for await (const piece of splitElements(chunks(), 'records')) {
            if (!('text' in piece)) throw new Error('cut short')
            out.push(JSON.parse(piece.text))
          }
          expect(out).toEqual(elements)
        },
      ),
      { numRuns: 150 },
    )
  })
})
