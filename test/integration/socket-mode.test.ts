import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'
import { type DevServer, startDevServer } from '../../local/dev-server.ts'
import { grantIdFor } from '../../shared/core/grants/grant.ts'
import { workflowConfig } from '../kit/plane.ts'
import { type SlackRecorder, startSlackRecorder } from '../kit/slack.ts'

/**
 * `npm start` with SLACK_APP_TOKEN: Socket Mode, against Slack's side played on loopback. The
 * recorder answers apps.connections.open with the address of a WebSocket server here, which
 * says hello and then delivers a slash command in an envelope, as Slack does; keyless must
 * acknowledge the envelope with the ephemeral reply as its payload.
 */

let slack: SlackRecorder
let sockets: WebSocketServer
let dataDir: string
let server: DevServer
const connected: WebSocket[] = []

beforeAll(async () => {
  slack = await startSlackRecorder()
  sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => sockets.once('listening', resolve))
  sockets.on('connection', (socket) => {
    connected.push(socket)
    socket.send(
      JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0KEYLESS' } }),
    )
  })
  slack.answer('apps.connections.open', {
    url: `ws://127.0.0.1:${(sockets.address() as AddressInfo).port}/link`,
  })
  dataDir = await mkdtemp(join(tmpdir(), 'keyless-socket-'))
  server = await startDevServer({
    config: workflowConfig(),
    dataDir,
    port: 0,
    log: () => {},
    slack: { appToken: 'xapp-1-test', apiUrl: slack.url },
  })
})

afterAll(async () => {
  await server?.close()
  sockets?.close()
  await slack?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('Socket Mode (SLACK_APP_TOKEN)', () => {
  it('takes /access over the WebSocket and answers in the envelope acknowledgement', async () => {
    await vi.waitUntil(() => connected.length > 0, { timeout: 5000, interval: 20 })
    expect(slack.of('apps.connections.open')).toHaveLength(1)
    const [socket] = connected
    if (!socket) throw new Error('keyless did not connect')
    const trigger = `${Date.now()}.socket.trigger`
    const ack = new Promise<{ envelope_id: string; payload?: { response_type?: string; text?: string } }>(
      (resolve) =>
        socket.on('message', (data) => {
          const message = JSON.parse(String(data))
          if (message.envelope_id === 'envelope-1') resolve(message)
        }),
    )
    socket.send(
      JSON.stringify({
        envelope_id: 'envelope-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          team_id: 'T0TEAM',
          channel_id: 'C0GENERAL',
          user_id: 'U0ALICE',
          command: '/access',
          text: 'prod-db 30m over a socket',
          api_app_id: 'A0KEYLESS',
          response_url: 'https://hooks.slack.com/commands/T0TEAM/1/abc',
          trigger_id: trigger,
        },
      }),
    )
    const { payload } = await ack
    expect(payload?.response_type).toBe('ephemeral')
    const grantId = grantIdFor(trigger)
    expect(payload?.text).toContain(`Grant \`${grantId}\``)
    expect((await server.plane.control.store.get(grantId))?.status).toBe('PENDING')
  })

  it('says so when it cannot reach Slack, and answers /healthz meanwhile', async () => {
    const unanswering = await startSlackRecorder()
    unanswering.hang()
    const dir = await mkdtemp(join(tmpdir(), 'keyless-socket-hang-'))
    const lines: string[] = []
    const hanging = await startDevServer({
      config: workflowConfig(),
      dataDir: dir,
      port: 0,
      log: (message) => lines.push(message),
      slack: { appToken: 'xapp-1-test', apiUrl: unanswering.url },
      slackConnectWarnMs: 50,
    })
    try {
      expect((await fetch(`${hanging.url}/healthz`)).status).toBe(200)
      await vi.waitUntil(() => lines.some((line) => line.includes('Socket Mode has not reached Slack yet')), {
        timeout: 5000,
        interval: 20,
      })
      expect(unanswering.of('apps.connections.open')).toHaveLength(1)
      expect(lines).not.toContain('slack: Socket Mode connected')
    } finally {
      await hanging.close()
      await unanswering.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
