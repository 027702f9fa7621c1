import type { EC2Client } from '@aws-sdk/client-ec2'
import type { InstanceInventory } from '../../core/alerts/inventory.ts'

/**
 * The instance inventory in AWS: EC2 DescribeTags, filtered to the instances of one event and
 * the one tag key, so an answer carries nothing but the tag keyless reads. Chosen over
 * DescribeInstances (which returns everything about an instance) and the Resource Groups
 * Tagging API (which needs the resources' ARNs and answers eventually consistently): the
 * permission `ec2:DescribeTags` reveals only tags, and the call is free.
 *
 * The EC2 client is the SDK's largest: importing it takes about half a second, so it is
 * imported on the first lookup, not at cold start (the reconciler, which posts unsent alerts
 * through the same service, never looks anything up and never pays for it).
 */
export class Ec2Inventory implements InstanceInventory {
  readonly #clientIn: (account: string, region: string) => EC2Client | Promise<EC2Client>

  /** `clientIn`: an EC2 client of the account and region (a member account's signs as its agent role). */
  constructor(clientIn: (account: string, region: string) => EC2Client | Promise<EC2Client>) {
    this.#clientIn = clientIn
  }

  async tagValues(
    account: string,
    region: string,
    tagKey: string,
    instanceIds: readonly string[],
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>()
    if (instanceIds.length === 0) return found
    const { paginateDescribeTags } = await import('@aws-sdk/client-ec2')
    const pages = paginateDescribeTags(
      { client: await this.#clientIn(account, region) },
      {
        Filters: [
          { Name: 'resource-type', Values: ['instance'] },
          { Name: 'resource-id', Values: [...instanceIds] },
          { Name: 'key', Values: [tagKey] },
        ],
      },
    )
    for await (const page of pages) {
      for (const tag of page.Tags ?? []) {
        if (tag.ResourceId && tag.Key === tagKey && tag.Value !== undefined)
          found.set(tag.ResourceId, tag.Value)
      }
    }
    return found
  }
}
