import type { KeylessConfig } from '../config/schema.ts'
import type { AuditTarget } from './audit.ts'

/** An instance as the audit meets it: where it is, and its tags (absent account: the home one). */
export interface TaggedInstance {
  instanceId: string
  region: string
  account?: string
  tags: Record<string, string>
}

/** The config's targets in `account`, each with the instances carrying its tag there. */
export function auditTargets(
  config: KeylessConfig,
  account: string,
  instances: TaggedInstance[],
): AuditTarget[] {
  return [...config.targets.values()]
    .filter((target) => target.account.id === account)
    .map((target) => ({
      name: target.name,
      tagKey: target.tagKey,
      tagValue: target.tagValue,
      instances: instances
        .filter(
          (instance) =>
            (instance.account ?? config.account) === account &&
            instance.tags[target.tagKey] === target.tagValue,
        )
        .map(({ instanceId, region }) => ({ instanceId, region })),
    }))
}
