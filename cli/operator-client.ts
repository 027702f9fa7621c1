import type { ControlPlaneRecord } from '../local/operator-api.ts'
import { KeylessError } from '../shared/core/errors.ts'

/**
 * A call to the running local control plane's operator API: its JSON answer, undefined for a
 * 404, a KeylessError with the plane's own words for any other refusal or when it is gone.
 */
export function operatorCall(record: ControlPlaneRecord) {
  return async (path: string, init: RequestInit = {}): Promise<unknown> => {
    let response: Response
    try {
      response = await fetch(`${record.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${record.token}`, 'content-type': 'application/json' },
      })
    } catch {
      throw new KeylessError(
        'NO_CONTROL_PLANE',
        `the local control plane at ${record.url} does not answer; is npm start still running?`,
      )
    }
    const body = (await response.json()) as { error?: string }
    if (response.status === 404) return undefined
    if (!response.ok)
      throw new KeylessError('REFUSED', body.error ?? `the control plane answered ${response.status}`)
    return body
  }
}
