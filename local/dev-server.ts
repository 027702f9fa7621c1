import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb'
import dynalite from 'dynalite'
import { createDocumentClient } from '../shared/aws/clients.ts'
import { systemClock } from '../shared/clock.ts'
import type { KeylessConfig } from '../shared/config/schema.ts'
import { reconcile } from '../shared/grants/reconciler.ts'
import { LogNotifier } from '../shared/notify/log-notifier.ts'
import { DynamoGrantStore } from '../shared/store/dynamo-grant-store.ts'
import { grantTableDefinition } from '../shared/store/table.ts'
import { LocalAccessBackend } from './access-backend.ts'
import { createLocalControlPlane, type LocalControlPlane } from './control-plane.ts'

export const LOCAL_TABLE = 'keyless-grants'

export interface DevServerOptions {
  config: KeylessConfig
  /** Where the embedded DynamoDB keeps its data (`.keyless/` by default). */
  dataDir: string
  port: number
  host?: string
  /** How often the reconciler runs; locally it is also what ends grants whose workflow a restart lost. */
  reconcileEveryMs?: number
  log: (message: string, details?: Record<string, unknown>) => void
}

export interface DevServer {
  url: string
  plane: LocalControlPlane
  backend: LocalAccessBackend
  close(): Promise<void>
}

/**
 * The local control plane (`npm start`, `keyless dev`): the embedded DynamoDB with its data on
 * disk, the real grant.asl.json in the local runner over the real task code, the local IAM/SSM
 * stand-in, and the reconciler on a timer, behind an HTTP server on loopback.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  await mkdir(options.dataDir, { recursive: true })
  const dynamo = dynalite({
    path: join(options.dataDir, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  })
  await listen(dynamo, 0, '127.0.0.1')
  const client = createDocumentClient({
    endpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    region: options.config.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  try {
    await client.send(new CreateTableCommand(grantTableDefinition(LOCAL_TABLE)))
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error // kept from an earlier run
  }

  const backend = new LocalAccessBackend()
  const warn = (message: string, details: Record<string, unknown>) =>
    options.log(`warning: ${message}`, details)
  const plane = await createLocalControlPlane({
    config: options.config,
    store: new DynamoGrantStore(client, LOCAL_TABLE),
    backend,
    notifier: new LogNotifier(options.log),
    clock: systemClock,
    warn,
  })

  let reconciling: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    reconciling = reconcile(plane.tasks, { graceSeconds: 5, activationGraceSeconds: 60 }).catch(
      (error: unknown) => warn('reconciliation failed', { error: String(error) }),
    )
  }, options.reconcileEveryMs ?? 30_000)

  const http = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
  })
  await listen(http, options.port, options.host ?? '127.0.0.1')
  const address = http.address() as AddressInfo

  return {
    url: `http://${address.address}:${address.port}`,
    plane,
    backend,
    close: async () => {
      clearInterval(timer)
      await reconciling
      await new Promise<void>((resolve) => http.close(() => resolve()))
      client.destroy()
      await new Promise<void>((resolve, reject) =>
        dynamo.close((error?: Error) => (error ? reject(error) : resolve())),
      )
    },
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
