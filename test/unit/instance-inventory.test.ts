import { DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { beforeEach, describe, expect, it } from 'vitest'
import { Ec2Inventory } from '../../shared/adapters/aws/ec2-inventory.ts'
import { CachedInventory, type InstanceInventory } from '../../shared/core/alerts/inventory.ts'
import type { Clock } from '../../shared/core/clock.ts'
import { at } from '../kit/grants.ts'

const ec2 = mockClient(EC2Client)
const HOME = '111122223333'
beforeEach(() => ec2.reset())

describe('the EC2 inventory', () => {
  it('asks DescribeTags for only these instances and the one tag key, in the event’s region, every page', async () => {
    const regions: string[] = []
    const inventory = new Ec2Inventory((account, region) => {
      expect(account).toBe(HOME)
      regions.push(region)
      return new EC2Client({ region })
    })
    ec2
      .on(DescribeTagsCommand)
      .resolvesOnce({
        Tags: [
          {
            ResourceId: 'i-0aaaaaaaaaaaaaaa1',
            ResourceType: 'instance',
            Key: 'access-target',
            Value: 'prod-db',
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Tags: [
          {
            ResourceId: 'i-0bbbbbbbbbbbbbbb2',
            ResourceType: 'instance',
            Key: 'access-target',
            Value: 'dev-web',
          },
          // Never trusted to have been filtered: another key is not the target tag.
          { ResourceId: 'i-0ccccccccccccccc3', ResourceType: 'instance', Key: 'Name', Value: 'prod-db' },
        ],
      })
    const found = await inventory.tagValues(HOME, 'us-east-1', 'access-target', [
      'i-0aaaaaaaaaaaaaaa1',
      'i-0bbbbbbbbbbbbbbb2',
      'i-0ccccccccccccccc3',
    ])
    expect(found).toEqual(
      new Map([
        ['i-0aaaaaaaaaaaaaaa1', 'prod-db'],
        ['i-0bbbbbbbbbbbbbbb2', 'dev-web'],
      ]),
    )
    expect(regions).toEqual(['us-east-1'])
    // The SDK's paginator sends its input again with the next token: the filters are the same each page.
    const calls = ec2.commandCalls(DescribeTagsCommand).map((call) => call.args[0].input)
    expect(calls).toHaveLength(2)
    expect(calls[0]?.Filters).toEqual(calls[1]?.Filters)
    expect(calls[0]).toMatchObject({
      Filters: [
        { Name: 'resource-type', Values: ['instance'] },
        {
          Name: 'resource-id',
          Values: ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2', 'i-0ccccccccccccccc3'],
        },
        { Name: 'key', Values: ['access-target'] },
      ],
    })
    expect(calls[1]?.NextToken).toBe('page-2')
  })

  it('makes no call for no instances, and lets an AWS error through (the invocation is retried)', async () => {
    const inventory = new Ec2Inventory(() => new EC2Client({ region: 'eu-west-1' }))
    expect(await inventory.tagValues(HOME, 'eu-west-1', 'access-target', [])).toEqual(new Map())
    expect(ec2.calls()).toHaveLength(0)
    ec2
      .on(DescribeTagsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }))
    await expect(
      inventory.tagValues(HOME, 'eu-west-1', 'access-target', ['i-0aaaaaaaaaaaaaaa1']),
    ).rejects.toThrow('Rate exceeded')
  })
})

describe('the cached inventory', () => {
  class Counting implements InstanceInventory {
    readonly asked: string[][] = []
    tags = new Map([['i-0aaaaaaaaaaaaaaa1', 'prod-db']])
    async tagValues(_account: string, _region: string, _key: string, ids: readonly string[]) {
      this.asked.push([...ids])
      return new Map(ids.flatMap((id) => (this.tags.has(id) ? [[id, this.tags.get(id) as string]] : [])))
    }
  }
  let now = at(0)
  const clock: Clock = { now: () => now }

  it('asks once per instance per TTL, remembers "untagged" too, and sees a retag after the TTL', async () => {
    const inner = new Counting()
    const cached = new CachedInventory(inner, clock, { ttlSeconds: 60, maxEntries: 100 })
    const ids = ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2']
    now = at(0)
    for (let i = 0; i < 5; i++) {
      expect(await cached.tagValues(HOME, 'eu-west-1', 'access-target', ids)).toEqual(
        new Map([[ids[0], 'prod-db']]),
      )
    }
    expect(inner.asked).toEqual([ids])
    // Another region is another instance.
    await cached.tagValues(HOME, 'us-east-1', 'access-target', [ids[0] as string])
    expect(inner.asked).toHaveLength(2)

    inner.tags.set('i-0bbbbbbbbbbbbbbb2', 'prod-db')
    now = at(59)
    expect((await cached.tagValues(HOME, 'eu-west-1', 'access-target', ids)).size).toBe(1)
    now = at(60)
    expect((await cached.tagValues(HOME, 'eu-west-1', 'access-target', ids)).size).toBe(2)
  })

  it('keeps at most maxEntries, dropping the oldest answers first', async () => {
    const inner = new Counting()
    const cached = new CachedInventory(inner, clock, { ttlSeconds: 60, maxEntries: 2 })
    now = at(0)
    for (const id of ['i-01', 'i-02', 'i-03']) await cached.tagValues(HOME, 'eu-west-1', 'k', [id])
    await cached.tagValues(HOME, 'eu-west-1', 'k', ['i-03', 'i-02'])
    expect(inner.asked).toEqual([['i-01'], ['i-02'], ['i-03']])
    await cached.tagValues(HOME, 'eu-west-1', 'k', ['i-01'])
    expect(inner.asked.at(-1)).toEqual(['i-01'])
  })
})
