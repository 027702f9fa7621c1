import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from '../shared/core/aws/arn.ts'
import { formatPath } from '../shared/core/config/load.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { KeylessError } from '../shared/core/errors.ts'
import type { LocalInstance } from './access-backend.ts'

/** The local fleet, if the data folder names one: `[{"instanceId", "region", "tags": {…}}]`. */
export const INSTANCES_FILE = 'instances.json'

const instancesSchema = z.array(
  z.strictObject({
    // The member account it is in; absent: the control plane's own.
    account: z.string().regex(ACCOUNT_ID_PATTERN, 'is not a 12-digit AWS account id').optional(),
    instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'is not an EC2 instance id, e.g. i-0123456789abcdef0'),
    region: z.string().regex(REGION_PATTERN, 'is not an AWS region, e.g. eu-west-1'),
    tags: z.record(z.string(), z.string()),
  }),
)

/**
 * The instances the local control plane pretends to have (the sessions revocation ends, the
 * tags the alert rules read): `<data folder>/instances.json` when present, else one instance
 * per target and configured region, tagged for it, with an id derived from the target and
 * region so it is the same on every start.
 */
export async function localInstances(config: KeylessConfig, dataDir: string): Promise<LocalInstance[]> {
  const file = join(dataDir, INSTANCES_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return defaultInstances(config)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new KeylessError('INVALID_INSTANCES', `${file} is not JSON`)
  }
  const parsed = instancesSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new KeylessError(
      'INVALID_INSTANCES',
      `${file}: ${formatPath(issue?.path ?? []) || '(file)'} ${issue?.message ?? 'is not valid'}`,
    )
  }
  return parsed.data
}

export function defaultInstances(config: KeylessConfig): LocalInstance[] {
  return [...config.targets.values()].flatMap((target) =>
    target.account.regions.map((region) => ({
      account: target.account.id,
      instanceId: `i-0${createHash('sha256').update(`${target.name}/${region}`).digest('hex').slice(0, 16)}`,
      region,
      tags: { [target.tagKey]: target.tagValue, Name: `${target.name}-1` },
    })),
  )
}
