import { timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { z } from 'zod'
import type { Verdict } from '../shared/core/alerts/evaluate.ts'
import { problemOf } from '../shared/core/alerts/input.ts'
import { ignoredLine, verdictLine } from '../shared/core/alerts/lines.ts'
import { type AccessEvent, readRecord } from '../shared/core/alerts/record.ts'
import { KeylessError } from '../shared/core/errors.ts'
import { type ControlDeps, denyRequest, revokeGrant } from '../shared/core/grants/control.ts'
import { type Actor, GRANT_ID_PATTERN } from '../shared/core/grants/grant.ts'
import { type DoctorReport, liveGrants, type TargetRevocation } from '../shared/core/grants/operations.ts'

/**
 * The local control plane's operator API, what `keyless grants …` talks to while `npm start`
 * runs (the embedded DynamoDB's files are the server's alone while it runs). Loopback only, and
 * every call carries the token the server wrote into its data folder: whoever can read that
 * folder can operate keyless, as whoever can read AWS credentials can with `--table`.
 */

/** Where the local control plane keeps its data unless KEYLESS_DATA_DIR names another folder. */
export const LOCAL_DATA_DIR = '.keyless'

/** Where a running local control plane says where it listens and which token lets an operator in. */
export const CONTROL_PLANE_FILE = 'control-plane.json'

const controlPlaneRecord = z.object({
  url: z.string().url(),
  token: z.string().min(1),
  pid: z.number().int().positive().optional(),
})
export type ControlPlaneRecord = z.infer<typeof controlPlaneRecord>

/**
 * The local control plane running with its data in `dataDir` (its record, written at start and
 * removed at stop), or undefined when none is.
 */
export async function runningControlPlane(dataDir: string): Promise<ControlPlaneRecord | undefined> {
  try {
    return controlPlaneRecord.parse(JSON.parse(await readFile(join(dataDir, CONTROL_PLANE_FILE), 'utf8')))
  } catch {
    return undefined
  }
}

/** The data folder the environment names. */
export const dataDirOf = (env: NodeJS.ProcessEnv): string => env.KEYLESS_DATA_DIR || LOCAL_DATA_DIR

const revokeBody = z.object({
  operator: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
})

const MAX_BODY = 16 * 1024

/** The most CloudTrail records one `POST /operator/verdicts` may carry. */
export const MAX_VERDICT_BATCH = 200
const MAX_VERDICTS_BODY = 8 * 1024 * 1024
const verdictsBody = z.object({ records: z.array(z.unknown()).max(MAX_VERDICT_BATCH) })

/** Cutting a whole target off always says why. */
const revokeTargetBody = revokeBody.extend({ reason: z.string().min(1).max(500) })

export interface OperatorExtras {
  /** Ends every live grant on a target now (`keyless grants revoke --all --target`). */
  revokeTarget?: (target: string, actor: Actor, reason: string) => Promise<TargetRevocation[]>
  /** What is wrong with the plane (`keyless doctor`). */
  doctor?: () => Promise<DoctorReport>
  /** The local IAM stand-in's attached policies, by principal: what `npm start` would have attached in AWS. */
  policies?: () => Record<string, string[]>
  /** The alert rules over the plane's grants and instances, storing and posting nothing (check-event). */
  evaluate?: (event: AccessEvent) => Promise<Verdict>
}

export function operatorApi(control: ControlDeps, token: string, extras: OperatorExtras = {}) {
  const { policies, evaluate, revokeTarget, doctor } = extras
  const expected = Buffer.from(`Bearer ${token}`)
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://local')
    if (!url.pathname.startsWith('/operator/')) return false
    const presented = Buffer.from(request.headers.authorization ?? '')
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      send(response, 401, { error: 'the operator token is missing or wrong' })
      return true
    }
    try {
      const [, , resource, id, verb] = url.pathname.split('/')
      if (resource === 'policies' && request.method === 'GET' && policies) {
        send(response, 200, policies())
        return true
      }
      if (resource === 'verdicts' && request.method === 'POST' && evaluate) {
        const body = verdictsBody.safeParse(await readJson(request, MAX_VERDICTS_BODY))
        if (!body.success) {
          send(response, 400, {
            error: `expected {"records": [at most ${MAX_VERDICT_BATCH} CloudTrail records]}`,
          })
          return true
        }
        const lines = []
        for (const record of body.data.records) {
          const read = readRecord(record)
          if (read.kind === 'access') lines.push(verdictLine(await evaluate(read.event)))
          else if (read.kind === 'ignored') lines.push(ignoredLine(read.eventId, read.eventName))
          else lines.push({ error: problemOf(read) })
        }
        send(response, 200, { lines })
        return true
      }
      if (resource === 'doctor' && request.method === 'GET' && id === undefined && doctor) {
        send(response, 200, await doctor())
        return true
      }
      if (resource === 'targets' && id && verb === 'revoke' && request.method === 'POST' && revokeTarget) {
        const body = revokeTargetBody.safeParse(await readJson(request))
        if (!body.success) {
          send(response, 400, { error: 'expected {"operator": "…", "reason": "…"}' })
          return true
        }
        const actor: Actor = { kind: 'operator', id: body.data.operator }
        send(response, 200, await revokeTarget(decodeURIComponent(id), actor, body.data.reason))
        return true
      }
      if (resource !== 'grants') return notFound(response)
      if (request.method === 'GET' && id === undefined) {
        const grants =
          url.searchParams.get('all') === '1'
            ? await control.store.listAll()
            : await liveGrants(control.store)
        send(response, 200, grants)
        return true
      }
      if (id === undefined || !GRANT_ID_PATTERN.test(id)) return notFound(response)
      if (request.method === 'GET' && verb === undefined) {
        const grant = await control.store.get(id)
        if (!grant) send(response, 404, { error: `There is no grant ${id}.` })
        else send(response, 200, grant)
        return true
      }
      if (request.method === 'POST' && (verb === 'revoke' || verb === 'deny')) {
        const body = revokeBody.safeParse(await readJson(request))
        if (!body.success) {
          send(response, 400, { error: 'expected {"operator": "…", "reason": "…"}' })
          return true
        }
        const act = verb === 'revoke' ? revokeGrant : denyRequest
        send(
          response,
          200,
          await act(control, id, { kind: 'operator', id: body.data.operator }, body.data.reason),
        )
        return true
      }
      return notFound(response)
    } catch (error) {
      if (error instanceof KeylessError) send(response, 409, { error: error.message, code: error.code })
      else send(response, 500, { error: 'internal error; see the control plane log' })
      return true
    }
  }
}

async function readJson(request: IncomingMessage, max = MAX_BODY): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > max) return undefined
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return undefined
  }
}

function notFound(response: ServerResponse): true {
  send(response, 404, { error: 'not found' })
  return true
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
