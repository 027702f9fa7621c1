import type { Grant } from '../../shared/core/grants/grant.ts'
import type { GrantStore } from '../../shared/core/grants/store.ts'

/** Polls the store (every 20 ms, at most `timeoutMs`) until the grant satisfies `check`. */
export async function untilGrant(
  store: GrantStore,
  grantId: string,
  check: (grant: Grant) => boolean,
  timeoutMs: number,
): Promise<Grant> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const grant = await store.get(grantId)
    if (grant && check(grant)) return grant
    if (Date.now() > deadline)
      throw new Error(`${grantId} did not get there in ${timeoutMs} ms: ${grant?.status}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
