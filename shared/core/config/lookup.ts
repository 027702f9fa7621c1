import { KeylessError } from '../errors.ts'
import { formatDuration } from './duration.ts'
import type { KeylessConfig, TargetConfig } from './schema.ts'

/** The one sentence for a target that does not exist, listing the ones that do. */
export const noSuchTarget = (name: string, targets: Iterable<string>): string =>
  `There is no target "${name}". Targets: ${[...targets].join(', ')}.`

/** The configured target called `name`, or a refusal that lists the ones there are. */
export function findTarget(config: KeylessConfig, name: string): TargetConfig {
  const target = config.targets.get(name)
  if (!target) throw new KeylessError('UNKNOWN_TARGET', noSuchTarget(name, config.targets.keys()))
  return target
}

/** docs/contract.md: a duration above the target's maximum is refused with the limit named, never cut. */
export function checkWithinMaximum(target: TargetConfig, durationSeconds: number): void {
  if (!Number.isSafeInteger(durationSeconds) || durationSeconds <= 0) {
    throw new KeylessError('INVALID_DURATION', 'A grant needs a positive duration, such as 30m.')
  }
  if (durationSeconds > target.maxDurationSeconds) {
    const limit = formatDuration(target.maxDurationSeconds)
    throw new KeylessError(
      'DURATION_OVER_LIMIT',
      `${formatDuration(durationSeconds)} is over ${target.name}'s maximum of ${limit}; ask for ${limit} or less.`,
    )
  }
}
