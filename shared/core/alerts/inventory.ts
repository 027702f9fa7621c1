import type { Clock } from '../clock.ts'

/**
 * Where the alert function learns which target an instance belongs to: the value of the
 * instance's `tagKey` tag, looked up in the account and region the access happened in. In AWS that is
 * EC2's DescribeTags (ec2-inventory.ts); locally a file of instances (local/instances.ts).
 */
export interface InstanceInventory {
  /** The tag's value for each of `instanceIds` that carries it; untagged or unknown instances are absent. */
  tagValues(
    account: string,
    region: string,
    tagKey: string,
    instanceIds: readonly string[],
  ): Promise<Map<string, string>>
}

export interface CacheOptions {
  /** How long an answer is reused: a retag takes at most this long to be seen. */
  ttlSeconds: number
  /** The most instances remembered; the oldest answer goes first. */
  maxEntries: number
}

export const DEFAULT_CACHE: CacheOptions = { ttlSeconds: 60, maxEntries: 10_000 }

/**
 * An inventory that asks another at most once per instance per TTL: a burst of sessions to one
 * fleet costs one lookup per instance, not one per event. "Untagged" is cached too, for as long.
 */
export class CachedInventory implements InstanceInventory {
  readonly #inner: InstanceInventory
  readonly #clock: Clock
  readonly #options: CacheOptions
  readonly #entries = new Map<string, { value: string | undefined; until: number }>()

  constructor(inner: InstanceInventory, clock: Clock, options: CacheOptions = DEFAULT_CACHE) {
    this.#inner = inner
    this.#clock = clock
    this.#options = options
  }

  async tagValues(
    account: string,
    region: string,
    tagKey: string,
    instanceIds: readonly string[],
  ): Promise<Map<string, string>> {
    const now = this.#clock.now().getTime()
    const key = (id: string) => `${account}\u0000${region}\u0000${tagKey}\u0000${id}`
    const found = new Map<string, string>()
    const missing: string[] = []
    for (const id of instanceIds) {
      const entry = this.#entries.get(key(id))
      if (entry === undefined || entry.until <= now) missing.push(id)
      else if (entry.value !== undefined) found.set(id, entry.value)
    }
    if (missing.length === 0) return found
    const looked = await this.#inner.tagValues(account, region, tagKey, missing)
    const until = now + this.#options.ttlSeconds * 1000
    for (const id of missing) {
      const value = looked.get(id)
      if (value !== undefined) found.set(id, value)
      // Re-inserted, so Map order is oldest-answer first and eviction takes the oldest.
      this.#entries.delete(key(id))
      this.#entries.set(key(id), { value, until })
    }
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#options.maxEntries) break
      this.#entries.delete(oldest)
    }
    return found
  }
}
