import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cloudTrailEndpoint } from '../../local/cloudtrail-endpoint.ts'
import type { AlertService } from '../../shared/core/alerts/service.ts'
import { startSession } from '../kit/cloudtrail.ts'

/** POST /cloudtrail's refusals over real HTTP, with a 1 KB limit so "too large" is cheap to send. */

const handled: unknown[] = []
// Nothing here reaches the rules: a refused request must not evaluate anything.
const alerts = {
  handle: async (event: unknown) => {
    handled.push(event)
    throw new Error('not expected')
  },
} as unknown as AlertService
let server: Server
let url: string

beforeAll(async () => {
  const endpoint = cloudTrailEndpoint(alerts, 1024)
  server = createServer((request, response) => void endpoint(request, response))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudtrail`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('POST /cloudtrail refusals', () => {
  it('a body over the limit is a 413 that says what to use instead, and nothing is evaluated', async () => {
    const record = startSession({ padding: 'x'.repeat(2048) })
    const response = await fetch(url, { method: 'POST', body: JSON.stringify([record]) })
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({
      error: 'the body is over 1024 bytes; use keyless check-event for files this large',
      verdicts: [],
      errors: [],
    })
    expect(handled).toEqual([])
  })

  it('anything but POST is a 405 saying how to use it', async () => {
    const response = await fetch(url)
    expect(response.status).toBe(405)
    expect(await response.json()).toEqual({ error: 'POST CloudTrail records to /cloudtrail' })
  })
})
