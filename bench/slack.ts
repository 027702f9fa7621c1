/**
 * The Slack side of `npm run bench`:
 * - `/access` ack latency through the real receiver (AwsLambdaReceiver, signed requests) over
 *   the embedded DynamoDB and the local workflow, and Slack Web API calls before the response;
 * - how long `npm start` takes to stop on SIGTERM while grants wait.
 */
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LOCAL_SIGNING_SECRET } from '../local/slack-requests.ts'
import { cancelRequest } from '../shared/core/grants/control.ts'
import { grantIdFor } from '../shared/core/grants/grant.ts'
import { commandBody, newTrigger, signed, startSlackRecorder } from '../test/kit/slack.ts'
import { startSlackPlane } from '../test/kit/slack-plane.ts'
import { median, percentile, printTable } from './report.ts'

const OUT = new URL('../.bench/', import.meta.url).pathname

/**
 * `/access` answered through AwsLambdaReceiver, with the local workflow asking the approvers
 * in the same process.
 * - Steady: each request once the workflow has asked the approvers about the previous one,
 *   which is then cancelled (unmeasured), so a handful of requests are pending at any time, as
 *   in a team. In AWS the workflow runs in other Lambda invocations, never on this event loop.
 * - Burst: back to back, with every request left pending: the workflow's work for all earlier
 *   requests competes with each new one on one event loop, and App Home reads grow with them.
 */
export async function accessAckLatency(requests = 500, burst = 100): Promise<void> {
  const rows: string[][] = []
  for (const steady of [true, false]) {
    const slack = await startSlackRecorder()
    const plane = await startSlackPlane({ slack })
    try {
      const alice = { kind: 'slack' as const, id: 'U0ALICE' }
      const send = async () => {
        const trigger = newTrigger()
        const start = performance.now()
        const response = await plane.send(signed(commandBody('U0ALICE', 'prod-db 30m bench', trigger)))
        const elapsed = performance.now() - start
        if (steady) {
          const grantId = grantIdFor(trigger)
          await plane.until(grantId, (grant) => (grant.slackMessages?.length ?? 0) === 4)
          await cancelRequest(plane.plane.control, grantId, alice)
          await plane.plane.workflow.executions.get(grantId)?.done
        }
        return { response, elapsed }
      }
      for (let i = 0; i < 20; i++) await send() // warm-up: JIT, connections
      const latencies: number[] = []
      let slackCalls = 0
      let unrecorded = 0
      const count = steady ? requests : burst
      for (let i = 0; i < count; i++) {
        const { response, elapsed } = await send()
        latencies.push(elapsed)
        slackCalls += response.slackCallsBeforeResponse
        if (response.statusCode !== 200 || !response.body.includes('Grant')) unrecorded += 1
      }
      rows.push([
        steady ? `steady: ${count} requests, the workflow keeps up` : `burst: ${count} requests back to back`,
        `${median(latencies).toFixed(1)} ms`,
        `${percentile(latencies, 99).toFixed(1)} ms`,
        String(slackCalls),
        String(unrecorded),
      ])
    } finally {
      await plane.close()
      await slack.close()
    }
  }
  printTable(
    [
      '/access through AwsLambdaReceiver (embedded DynamoDB, local workflow)',
      'p50',
      'p99',
      'Slack calls before response',
      'not recorded',
    ],
    rows,
  )
  console.log('targets (steady): p99 ≤ 150 ms, 0 Slack calls before the response')
}

/** SIGTERM to exit for `npm start` with a request waiting for approval, median of 5. */
export async function stopTime(): Promise<void> {
  const times: number[] = []
  for (let run = 0; run < 5; run++) {
    const dataDir = join(OUT, `stop-${run}`)
    const child = spawn(process.execPath, ['cli/keyless.ts', 'dev'], {
      env: {
        ...process.env,
        PORT: '0',
        KEYLESS_DATA_DIR: dataDir,
        KEYLESS_CONFIG: 'keyless.config.example.yaml',
      },
    })
    let output = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
        if (match?.[1]) resolve(match[1])
      })
      child.once('exit', () => reject(new Error(output)))
    })
    const request = signed(commandBody('U0ALICE', 'prod-db 1h waiting', newTrigger()), {
      secret: LOCAL_SIGNING_SECRET,
    })
    await fetch(`${url}/slack/events`, { method: 'POST', headers: request.headers, body: request.body })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const start = performance.now()
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    times.push(performance.now() - start)
  }
  await rm(OUT, { recursive: true, force: true })
  console.log(
    `\nnpm start: SIGTERM to exit with a request waiting for approval, median of 5: ${median(times).toFixed(0)} ms (max ${Math.max(...times).toFixed(0)} ms)`,
  )
}
