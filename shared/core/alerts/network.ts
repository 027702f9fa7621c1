import { BlockList, isIP } from 'node:net'

/**
 * The networks access is expected from (`alerts.allowedSourceCidrs`), IPv4 and IPv6, on Node's
 * own `net.BlockList`: an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) counts as its IPv4 one.
 */
export class AllowedNetworks {
  readonly #list = new BlockList()
  /**
   * Answers by address: a trail repeats a few addresses endlessly, and `BlockList.check` builds
   * a socket address every call (a twentieth of check-event's time over a day's trail). Bounded:
   * emptied when full.
   */
  readonly #answers = new Map<string, boolean>()
  readonly empty: boolean

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix = ''] = cidr.split('/')
      this.#list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4')
    }
    this.empty = cidrs.length === 0
  }

  /**
   * Whether `source` (CloudTrail's `sourceIPAddress`) is expected: an address in one of the
   * networks, or an origin inside AWS. CloudTrail gives an address for calls from outside AWS,
   * and a service's name (`ssm.amazonaws.com`) or `AWS Internal` for calls AWS made on someone's
   * behalf: those are origins, not addresses, and no network rule applies to them. Anything
   * else (`Coral/Jakarta`, `-`, a host name) fails closed: it is not expected.
   */
  expects(source: string): boolean {
    let answer = this.#answers.get(source)
    if (answer === undefined) {
      if (this.#answers.size >= MAX_REMEMBERED_SOURCES) this.#answers.clear()
      answer = this.#judge(source)
      this.#answers.set(source, answer)
    }
    return answer
  }

  #judge(source: string): boolean {
    if (isAwsOrigin(source)) return true
    const family = isIP(source)
    if (family === 0) return false
    return this.#list.check(source, family === 6 ? 'ipv6' : 'ipv4')
  }
}

const MAX_REMEMBERED_SOURCES = 4096

/** A service's endpoint name (`ssm.amazonaws.com`) or `AWS Internal`: AWS acting, not a network. */
export const isAwsOrigin = (source: string): boolean =>
  source === 'AWS Internal' || /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$/.test(source)
