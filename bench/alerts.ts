/**
 * The alerts side of `npm run bench`: `keyless check-event` over a generated CloudTrail log
 * file `{"Records": [...]}`, streamed into a fresh process's standard input: throughput and peak
 * memory at 100,000 and 1,000,000 records. That memory does not grow with the input is shown by
 * the 1,000,000-record run's heap being capped at HEAP_CAP_MB: a leak would end it, out of memory.
 * (Comparing peak RSS between runs says little: V8 lets a longer run's heap grow further before
 * collecting it.)
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { printTable } from './report.ts'

const FIXTURE = new URL('../test/fixtures/cloudtrail/start-session-port-forward-no-mfa.json', import.meta.url)

/** Runs the CLI's check-event on stdin and reports its own peak memory when done. */
const RUNNER = `
import { runCli } from './cli/program.ts'
import { processIo } from './cli/io.ts'
import { peakRssKb } from './bench/peak-memory.ts'
const code = await runCli(['check-event', '-', '--config', 'keyless.config.example.yaml'], processIo)
process.stderr.write(JSON.stringify({ code, maxRssKb: peakRssKb() }) + '\\n')
`

const HEAP_CAP_MB = 64

/** `accessShare` of the records are access events (the rest, other API calls, are ignored). */
async function run(records: number, accessShare: number, heapCapMb?: number) {
  const access = JSON.parse(await readFile(FIXTURE, 'utf8'))
  const other = { ...access, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' }
  const heapCap = heapCapMb === undefined ? [] : [`--max-old-space-size=${heapCapMb}`]
  const child = spawn(process.execPath, [...heapCap, '--input-type=module', '-e', RUNNER], {
    stdio: ['pipe', 'ignore', 'pipe'],
    // The stateless rules, as measured: never a local control plane that happens to run here.
    env: { ...process.env, KEYLESS_DATA_DIR: 'bench-no-control-plane' },
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const start = performance.now()
  const write = async (text: string) => {
    if (!child.stdin.write(text)) await once(child.stdin, 'drain')
  }
  await write('{"Records":[')
  let batch = ''
  for (let i = 0; i < records; i++) {
    const record = i % Math.round(1 / accessShare) === 0 ? access : other
    record.eventID = `e-${i}`
    batch += `${i ? ',' : ''}${JSON.stringify(record)}`
    if (batch.length > 1 << 16) {
      await write(batch)
      batch = ''
    }
  }
  await write(`${batch}]}`)
  child.stdin.end()
  const [exitCode] = await once(child, 'exit')
  const seconds = (performance.now() - start) / 1000
  // Out of memory under the cap ends the process before it reports.
  if (exitCode !== 0) throw new Error(`check-event exited with ${exitCode}: ${stderr.slice(-2000)}`)
  const result = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}') as { code: number; maxRssKb: number }
  if (result.code !== 0) throw new Error(`check-event failed: ${stderr}`)
  return { seconds, perSecond: records / seconds, maxRssMb: result.maxRssKb / 1024 }
}

export async function checkEventThroughput(): Promise<void> {
  const rows: string[][] = []
  const add = (label: string, records: number, measured: Awaited<ReturnType<typeof run>>) =>
    rows.push([
      label,
      records.toLocaleString('en'),
      `${measured.seconds.toFixed(1)} s`,
      Math.round(measured.perSecond).toLocaleString('en'),
      `${measured.maxRssMb.toFixed(0)} MB`,
    ])
  add('every record an access event raising 2 findings', 100_000, await run(100_000, 1))
  add(
    `every record an access event raising 2 findings, heap ≤ ${HEAP_CAP_MB} MB`,
    1_000_000,
    await run(1_000_000, 1, HEAP_CAP_MB),
  )
  add('1 in 10 an access event, the rest other API calls', 100_000, await run(100_000, 0.1))
  printTable(
    ['check-event over {"Records": [...]} on stdin', 'records', 'time', 'records/s', 'peak RSS'],
    rows,
  )
  console.log(
    `targets: ≥ 20,000 records/s; memory flat: 1,000,000 records judged in a heap capped at ${HEAP_CAP_MB} MB (a leak would run out); times include starting the process`,
  )
}
