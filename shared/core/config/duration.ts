/**
 * Durations as people write them in the config file and in Slack: `90s`, `30m`, `1h30m`, `2d`.
 * Units come largest first, each at most once, in whole numbers; the total is kept in seconds.
 */

const SECOND = 1
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * No grant, timeout or extension may last longer than this. Just-in-time access measured in
 * months is standing access; the cap also keeps absurd input (`99999999h`) out of every date
 * computation and of Step Functions' one-year execution limit.
 */
export const LONGEST_DURATION_SECONDS = 30 * DAY

const EXAMPLES = 'such as 90s, 30m, 1h30m or 2d'
const DURATION_PATTERN = /^(?:(\d{1,7})d)?(?:(\d{1,7})h)?(?:(\d{1,7})m)?(?:(\d{1,7})s)?$/

export type DurationResult = { ok: true; seconds: number } | { ok: false; message: string }

export function parseDuration(text: string): DurationResult {
  const input = text.trim()
  if (input === '') return fail(`a duration is required, ${EXAMPLES}`)
  if (/^\d+$/.test(input)) {
    return fail(`"${input}" has no unit: write ${input}m for minutes (units: d, h, m, s)`)
  }
  if (input.startsWith('-')) return fail(`"${input}" is negative: a duration is positive, ${EXAMPLES}`)
  const match = DURATION_PATTERN.exec(input)
  if (!match) return fail(`"${input}" is not a duration, ${EXAMPLES} (whole units, largest first)`)
  const [, days, hours, minutes, seconds] = match
  const total =
    Number(days ?? 0) * DAY +
    Number(hours ?? 0) * HOUR +
    Number(minutes ?? 0) * MINUTE +
    Number(seconds ?? 0) * SECOND
  if (total === 0) return fail(`"${input}" is zero: a duration must be positive`)
  if (total > LONGEST_DURATION_SECONDS) {
    return fail(
      `"${input}" is longer than ${formatDuration(LONGEST_DURATION_SECONDS)}, the most any duration may be`,
    )
  }
  return { ok: true, seconds: total }
}

/** The shortest canonical spelling, so that `formatDuration(parse(x))` reads as a person would write it. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isSafeInteger(totalSeconds) || totalSeconds <= 0) {
    throw new RangeError(`cannot format ${totalSeconds} as a duration`)
  }
  let rest = totalSeconds
  let text = ''
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    const count = Math.floor(rest / size)
    if (count > 0) text += `${count}${unit}`
    rest -= count * size
  }
  return text
}

function fail(message: string): DurationResult {
  return { ok: false, message }
}
