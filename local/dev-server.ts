import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb'
import { type App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt'
import dynalite from 'dynalite'
import { boltLogger, createSlackApp } from '../functions/slack/app.ts'
import { createDocumentClient } from '../shared/adapters/aws/clients.ts'
import { DynamoGrantStore } from '../shared/adapters/dynamodb/grant-store.ts'
import { grantTableDefinition } from '../shared/adapters/dynamodb/table.ts'
import { DynamoVerdictStore } from '../shared/adapters/dynamodb/verdict-store.ts'
import { type SlackApi, WebSlackApi } from '../shared/adapters/slack/api.ts'
import { SLACK_BUDGET_MS, withSlackBudget } from '../shared/adapters/slack/budget.ts'
import { createSlackClient } from '../shared/adapters/slack/client.ts'
import { SlackNotifier } from '../shared/adapters/slack/notifier.ts'
import { SlackSecurityChannel } from '../shared/adapters/slack/security-channel.ts'
import { evaluate, evaluationContext } from '../shared/core/alerts/evaluate.ts'
import { AlertService } from '../shared/core/alerts/service.ts'
import { systemClock } from '../shared/core/clock.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { KeylessError } from '../shared/core/errors.ts'
import { doctor, revokeTarget, UNSENT_ALERTS_COUNTED } from '../shared/core/grants/operations.ts'
import { reconcilerPass } from '../shared/core/grants/reconciler.ts'
import { BackgroundNotifier } from '../shared/core/notify/background-notifier.ts'
import { LocalAccessBackend, type LocalInstance } from './access-backend.ts'
import { cloudTrailEndpoint } from './cloudtrail-endpoint.ts'
import { ConsoleSlackApi } from './console-slack.ts'
import { createLocalControlPlane, type LocalControlPlane } from './control-plane.ts'
import { CONTROL_PLANE_FILE, operatorApi } from './operator-api.ts'
import { LOCAL_SIGNING_SECRET } from './slack-requests.ts'

export const LOCAL_TABLE = 'keyless-grants'

export interface SlackSettings {
  signingSecret: string
  /** Without a bot token (and no SLACK_API_URL), every message is printed instead of sent. */
  botToken?: string
  /** Socket Mode instead of POST /slack/events. */
  appToken?: string
  /** The Web API's base URL: a recorder in tests, Slack's by default. */
  apiUrl?: string
}

export interface DevServerOptions {
  config: KeylessConfig
  /** Where the embedded DynamoDB keeps its data (`.keyless/` by default). */
  dataDir: string
  port: number
  host?: string
  /** How often the reconciler runs (it also runs once at start, resuming what a previous run left). */
  reconcileEveryMs?: number
  log: (message: string, details?: Record<string, unknown>) => void
  /** Where messages are printed when there is no bot token: readable text, not log lines. */
  print?: (text: string) => void
  slack?: Partial<SlackSettings>
  /** How long Socket Mode may take to reach Slack before the log says it has not (default 5 s). */
  slackConnectWarnMs?: number
  /** Instances the local IAM/SSM/EC2 stand-in knows: sessions to end on revocation, tags for the alert rules. */
  instances?: LocalInstance[]
}

export interface DevServer {
  url: string
  plane: LocalControlPlane
  backend: LocalAccessBackend
  alerts: AlertService
  close(): Promise<void>
}

/**
 * The local control plane (`npm start`, `keyless dev`): the embedded DynamoDB with its data on
 * disk, the real grant.asl.json in the local runner over the real task code, the local IAM/SSM
 * stand-in, and the reconciler on a timer, behind an HTTP server on loopback.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  // Listen first: a port in use is refused before anything is created on disk. Until the plane
  // is ready, every request (GET /healthz too) is answered 503.
  let serve: RequestListener = (_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"starting"}')
  }
  const http = createServer((request, response) => serve(request, response))
  const host = options.host ?? '127.0.0.1'
  await listen(http, options.port, host).catch((error: unknown) => {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error
    throw new KeylessError(
      'PORT_IN_USE',
      `port ${options.port} is in use on ${host}: set PORT to a free one (PORT=0 picks one)`,
    )
  })
  try {
    return await startPlane(options, http, (listener) => {
      serve = listener
    })
  } catch (error) {
    http.closeAllConnections()
    http.close()
    throw error
  }
}

async function startPlane(
  options: DevServerOptions,
  http: Server,
  ready: (listener: RequestListener) => void,
): Promise<DevServer> {
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

  const backend = new LocalAccessBackend(options.instances)
  const warn = (message: string, details: Record<string, unknown>) =>
    options.log(`warning: ${message}`, details)
  const store = new DynamoGrantStore(client, LOCAL_TABLE)
  const slackSettings: SlackSettings = {
    signingSecret: LOCAL_SIGNING_SECRET,
    ...definedOnly(options.slack ?? {}),
  }
  const logger = boltLogger((level, message) => options.log(`slack ${level}: ${message}`))
  const slackApi: SlackApi =
    slackSettings.botToken || slackSettings.apiUrl
      ? new WebSlackApi(
          createSlackClient(slackSettings.botToken ?? 'xoxb-local', {
            logger,
            ...(slackSettings.apiUrl ? { slackApiUrl: slackSettings.apiUrl } : {}),
          }),
        )
      : new ConsoleSlackApi(options.print ?? ((text) => options.log(text)))
  const notifier = new SlackNotifier({
    config: options.config,
    store,
    slack: slackApi,
    clock: systemClock,
    warn,
  })
  const plane = await createLocalControlPlane({
    config: options.config,
    store,
    backend,
    notifier,
    clock: systemClock,
    warn,
    directory: slackApi,
  })
  // The alert function's own service, over the same table, the local instances' tags and Slack.
  const alertContext = evaluationContext(options.config, backend, store)
  const verdicts = new DynamoVerdictStore(client, LOCAL_TABLE)
  const alerts = new AlertService({
    context: alertContext,
    grants: store,
    verdicts,
    securityChannel: new SlackSecurityChannel(slackApi, options.config.slack.securityChannel),
    clock: systemClock,
    warn,
  })
  const cloudTrail = cloudTrailEndpoint(alerts)
  // Slack follow-ups get a budget each, as the Slack function's follow-up invocations do.
  const later = new BackgroundNotifier(
    { send: (notice) => withSlackBudget(SLACK_BUDGET_MS.followUp, () => notifier.send(notice)) },
    warn,
  )
  const surface = {
    control: plane.control,
    later,
    error: (message: string, details: Record<string, unknown>) => options.log(`error: ${message}`, details),
  }
  const appOptions = {
    logger,
    ...(slackSettings.botToken ? { botToken: slackSettings.botToken } : {}),
    ...(slackSettings.apiUrl ? { slackApiUrl: slackSettings.apiUrl } : {}),
  }
  // Over HTTP, as in Lambda the response waits for the listener: what is tested here holds
  // there. Socket Mode: Slack's requests arrive over a WebSocket this process opens, so no
  // public URL is needed; its client asks the Web API (SLACK_API_URL too) where to connect.
  const slackReceiver = slackSettings.appToken
    ? new SocketModeReceiver({
        appToken: slackSettings.appToken,
        logger,
        ...(slackSettings.apiUrl
          ? { installerOptions: { clientOptions: { slackApiUrl: slackSettings.apiUrl } } }
          : {}),
      })
    : new HTTPReceiver({
        signingSecret: slackSettings.signingSecret,
        endpoints: '/slack/events',
        processBeforeResponse: true,
        logger,
      })
  const slackApp: App = createSlackApp(surface, { ...appOptions, receiver: slackReceiver })
  const receiver = slackReceiver instanceof HTTPReceiver ? slackReceiver : undefined
  // Socket Mode connects in the background: the plane (its /healthz, the CLI, the workflow) does
  // not wait for Slack, and a Slack it cannot reach is said, not waited on in silence.
  if (!receiver) {
    const silent = setTimeout(
      () =>
        warn('Socket Mode has not reached Slack yet; still trying (Slack requests wait until it does)', {
          apiUrl: slackSettings.apiUrl ?? 'https://slack.com/api/',
        }),
      options.slackConnectWarnMs ?? 5000,
    )
    silent.unref()
    slackApp.start().then(
      () => {
        clearTimeout(silent)
        options.log('slack: Socket Mode connected')
      },
      (error: unknown) => {
        clearTimeout(silent)
        warn('Socket Mode could not connect to Slack', { error })
      },
    )
  }

  // The reconciler with the local runner: it starts the execution of every live grant that has
  // none (at start that is each grant a previous run left live), and repairs what is overdue.
  // Resuming at start is the local plane doing its job: logged here, not reported to security.
  const reconcileOnce = (atStart = false) =>
    withSlackBudget(SLACK_BUDGET_MS.reconciler, async () => {
      const { findings } = await reconcilerPass(plane.reconcile, alerts.sender, {
        graceSeconds: 5,
        activationGraceSeconds: 60,
        reportRestarts: !atStart,
      })
      const resumed = findings.filter((finding) => finding.what === 'execution-restarted').length
      if (atStart && resumed > 0) options.log(`resumed ${resumed} live grants left by the last run`)
    }).catch((error: unknown) => warn('reconciliation failed', { error }))
  let reconciling: Promise<unknown> = reconcileOnce(true)
  await reconciling
  const timer = setInterval(() => {
    reconciling = reconcileOnce()
  }, options.reconcileEveryMs ?? 30_000)

  const operatorToken = randomBytes(24).toString('base64url')
  const operator = operatorApi(plane.control, operatorToken, {
    revokeTarget: (target, actor, reason) =>
      revokeTarget({ ...plane.control, backend }, target, actor, reason),
    doctor: () =>
      doctor({
        ...plane.tasks,
        workflow: plane.workflow,
        unsentAlerts: async () => (await verdicts.listUnsent(UNSENT_ALERTS_COUNTED)).length,
      }),
    policies: () =>
      Object.fromEntries(
        [...backend.policies].map(([principal, attached]) => [principal, [...attached.keys()]]),
      ),
    evaluate: (event) => evaluate(event, alertContext),
  })
  ready((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    if (receiver && request.url?.split('?')[0] === '/slack/events') {
      receiver.requestListener(request, response)
      return
    }
    const path = request.url?.split('?')[0]
    const handling =
      path === '/cloudtrail' ? cloudTrail(request, response).then(() => true) : operator(request, response)
    handling.then(
      (handled) => {
        if (!handled)
          response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      },
      (error: unknown) => {
        warn('request failed', { path, error })
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' })
        response.end('{"error":"internal error; see the control plane\'s log"}')
      },
    )
  })
  const address = http.address() as AddressInfo
  const url = `http://${address.address}:${address.port}`
  const record = join(options.dataDir, CONTROL_PLANE_FILE)
  // Readable by this user only: the token lets whoever holds it revoke grants.
  await writeFile(record, JSON.stringify({ url, token: operatorToken, pid: process.pid }), { mode: 0o600 })

  return {
    url,
    plane,
    backend,
    alerts,
    close: async () => {
      clearInterval(timer)
      await rm(record, { force: true })
      await reconciling
      // Executions stop where they are; the store keeps what they owe for the next start. Each
      // step gets a few seconds at most, on timers that do not themselves keep the process up.
      await Promise.race([plane.workflow.stop(), sleep(5000, undefined, { ref: false })])
      await Promise.race([later.idle(), sleep(5000, undefined, { ref: false })])
      if (!receiver) {
        await Promise.race([
          slackApp.stop().catch(() => {}), // not connected: nothing to close
          sleep(2000, undefined, { ref: false }),
        ])
      }
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      client.destroy()
      // The SDK's keep-alive sockets would hold the embedded server's close for seconds.
      dynamo.closeAllConnections()
      await new Promise<void>((resolve, reject) =>
        dynamo.close((error?: Error) => (error ? reject(error) : resolve())),
      )
    },
  }
}

/** The settings given, without the keys whose value is undefined (so defaults stay). */
function definedOnly<T extends object>(settings: T): Partial<T> {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<T>
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
