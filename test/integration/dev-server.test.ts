import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startDevServer } from '../../local/dev-server.ts'
import { submitRequest } from '../../shared/grants/control.ts'
import { newClientToken } from '../../shared/grants/grant.ts'
import { runKeyless } from '../kit/cli.ts'
import { workflowConfig } from '../kit/plane.ts'

const quiet = () => {}

const made: string[] = []
/** A data folder for one test, removed when the file is done. */
async function dataFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-dev-'))
  made.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('the local control plane', () => {
  it('answers /healthz, runs grants through the real workflow, and keeps its data across restarts', async () => {
    const dataDir = await dataFolder()
    const first = await startDevServer({ config: workflowConfig(), dataDir, port: 0, log: quiet })
    const health = await fetch(`${first.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    expect((await fetch(`${first.url}/nope`)).status).toBe(404)

    const { grant } = await submitRequest(first.plane.control, {
      clientToken: newClientToken(),
      target: 'dev-web',
      requester: 'U0ALICE',
      durationSeconds: 1,
      reason: 'trying keyless locally',
    })
    expect((await first.plane.workflow.executions.get(grant.id)?.done)?.status).toBe('SUCCEEDED')
    await first.close()

    const second = await startDevServer({ config: workflowConfig(), dataDir, port: 0, log: quiet })
    expect((await second.plane.control.store.get(grant.id))?.status).toBe('EXPIRED')
    await second.close()
  })

  it('refuses a malformed Slack setting with one line, never echoing a secret', async () => {
    const refused = (env: NodeJS.ProcessEnv) => runKeyless(['dev'], env)
    expect(await refused({ SLACK_BOT_TOKEN: 'xoxp-a-user-token' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'keyless: SLACK_BOT_TOKEN=(hidden) is not a bot token, xoxb-…\n',
    })
    expect((await refused({ SLACK_APP_TOKEN: 'xoxb-1' })).stderr).toBe(
      'keyless: SLACK_APP_TOKEN=(hidden) is not an app-level token with connections:write, xapp-…\n',
    )
    expect((await refused({ SLACK_SIGNING_SECRET: 'short' })).stderr).toBe(
      "keyless: SLACK_SIGNING_SECRET=(hidden) is not your Slack app's signing secret (Basic Information → App Credentials)\n",
    )
    expect((await refused({ SLACK_API_URL: 'ftp://example' })).stderr).toBe(
      'keyless: SLACK_API_URL="ftp://example" is not an http(s) URL, e.g. http://127.0.0.1:9000/api/\n',
    )
  })

  it('refuses a bad PORT with one line', async () => {
    const child = spawn(process.execPath, ['cli/keyless.ts', 'dev'], {
      env: { ...process.env, PORT: 'eighty' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(stderr).toBe('keyless: PORT="eighty" is not a port number from 0 to 65535, e.g. PORT=3000\n')
  })
})
