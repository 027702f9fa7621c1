import { BlockList, isIP } from 'node:net'

/**
 * The networks access is expected from (`alerts.allowedSourceCidrs`), IPv4 and IPv6, on Node's
 * own `net.BlockList`: an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) counts as its IPv4 one.
 */
export class AllowedNetworks {
  readonly #list = new BlockList()
  readonly empty: boolean

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix = ''] = cidr.split('/')
      this.#list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4')
    }
    this.empty = cidrs.length === 0
  }

  /**
   * Whether `address` is in one of the networks; undefined when it is not an IP address at all.
   * CloudTrail's `sourceIPAddress` is an address for calls from outside AWS, and a service's
   * name (`ssm.amazonaws.com`) or `AWS Internal` for calls AWS made on someone's behalf: those
   * are origins, not addresses, and no network rule applies to them.
   */
  contains(address: string): boolean | undefined {
    const family = isIP(address)
    if (family === 0) return undefined
    return this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }
}
