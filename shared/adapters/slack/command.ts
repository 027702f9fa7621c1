import { parseDuration } from '../../core/config/duration.ts'
import { noSuchTarget } from '../../core/config/lookup.ts'
import { KeylessError } from '../../core/errors.ts'
import { GRANT_ID_PATTERN } from '../../core/grants/grant.ts'
import { cleanTyped, truncate } from './text.ts'

/**
 * `/access …` as people type it (docs/contract.md "Slack"). Parsing is pure: it knows the
 * target names and nothing else, and every refusal says what was wrong with an example of
 * the right form.
 */

export type AccessCommand =
  | { kind: 'help' }
  | { kind: 'list' }
  | { kind: 'targets' }
  | {
      kind: 'request'
      /** The first target named; `targets` has every one (`prod-db,prod-cache`). */
      target: string
      targets: string[]
      durationSeconds: number
      reason: string
      breakGlass: boolean
    }
  | { kind: 'revoke'; grantId: string; reason: string }
  | { kind: 'extend'; grantId: string; durationSeconds: number }
  | { kind: 'cancel'; grantId: string }

export const EXAMPLES = {
  request: '/access prod-db 30m fixing replication lag',
  breakGlass: '/access prod-db 1h --break-glass primary is down, on-call paged',
  revoke: '/access revoke g-7kq2m9x4ab',
  extend: '/access extend g-7kq2m9x4ab 30m',
  cancel: '/access cancel g-7kq2m9x4ab',
  severalTargets: '/access prod-db,prod-cache 30m one incident',
} as const

/** More than any real command; Slack itself allows about 4,000 characters. */
export const MAX_COMMAND_LENGTH = 4000

export class CommandError extends KeylessError {
  override name = 'CommandError'
  /** The right form, shown under the message. */
  readonly example: string

  constructor(message: string, example: string) {
    super('INVALID_COMMAND', message)
    this.example = example
  }
}

// Phones and macOS turn `--` into an em or en dash; a person who typed --break-glass meant it.
const BREAK_GLASS_FLAG = /^(?:--|\u2014|\u2013)break-glass$/i
const GRANT_ID_ANYCASE = /^g-[0-9a-z]{10}$/i

/** Parses the text after `/access`. `targets` are the configured target names. */
export function parseAccessCommand(text: string, targets: ReadonlySet<string>): AccessCommand {
  if (text.length > MAX_COMMAND_LENGTH) {
    throw new CommandError(
      `That command is ${text.length} characters long; keep it under ${MAX_COMMAND_LENGTH}.`,
      EXAMPLES.request,
    )
  }
  const words = cleanTyped(text).split(' ').filter(Boolean)
  const [first, ...rest] = words
  if (first === undefined) return { kind: 'help' }
  const keyword = first.toLowerCase()
  // A target may be named like a subcommand; the subcommand wins only when its arguments fit.
  // Several targets are one word, comma-separated with no spaces (`prod-db,prod-cache`).
  const named = first.split(',')
  const isTarget = named.every((name) => targets.has(name))

  if ((keyword === 'help' || keyword === 'list' || keyword === 'targets') && rest.length === 0) {
    return { kind: keyword }
  }
  if (keyword === 'revoke' || keyword === 'cancel' || keyword === 'extend') {
    const [id, ...more] = rest
    if (id !== undefined && GRANT_ID_ANYCASE.test(id)) {
      const grantId = grantIdFrom(id, EXAMPLES[keyword])
      if (keyword === 'revoke') return { kind: 'revoke', grantId, reason: more.join(' ') }
      if (keyword === 'cancel') {
        if (more.length > 0) throw new CommandError('`cancel` takes only the grant id.', EXAMPLES.cancel)
        return { kind: 'cancel', grantId }
      }
      const [duration, ...extra] = more
      if (duration !== undefined) refuseSpelledOut(duration, extra[0], EXAMPLES.extend)
      if (duration === undefined || extra.length > 0) {
        throw new CommandError('`extend` takes the grant id and how much longer.', EXAMPLES.extend)
      }
      return { kind: 'extend', grantId, durationSeconds: durationFrom(duration, EXAMPLES.extend) }
    }
    if (!isTarget) {
      throw new CommandError(
        id === undefined
          ? `\`${keyword}\` needs the id of a grant (from \`/access list\`).`
          : `"${shown(id)}" is not a grant id; grant ids look like g-7kq2m9x4ab (see \`/access list\`).`,
        EXAMPLES[keyword],
      )
    }
  }
  if (!isTarget) {
    if (named.includes('')) throw brokenTargetList()
    const unknown = named.find((name) => !targets.has(name)) ?? first
    throw new CommandError(
      `${noSuchTarget(shown(unknown), targets).slice(0, -1)} (see \`/access targets\`).`,
      EXAMPLES.request,
    )
  }
  const [duration, ...after] = rest
  if (duration?.startsWith(',')) throw brokenTargetList()
  if (duration === undefined) {
    throw new CommandError(`Say how long you need ${first} for.`, EXAMPLES.request)
  }
  refuseSpelledOut(duration, after[0], EXAMPLES.request)
  const durationSeconds = durationFrom(duration, EXAMPLES.request)
  const flagAt = after.findIndex((word) => BREAK_GLASS_FLAG.test(word))
  if (flagAt > 0) {
    throw new CommandError('Put --break-glass right after the duration.', EXAMPLES.breakGlass)
  }
  const breakGlass = flagAt === 0
  const reason = (breakGlass ? after.slice(1) : after).join(' ')
  if (breakGlass && reason === '') {
    throw new CommandError(
      'Break-glass access skips approval, so it needs a reason: the security team reviews every use.',
      EXAMPLES.breakGlass,
    )
  }
  const distinct = [...new Set(named)]
  return {
    kind: 'request',
    target: distinct[0] ?? first,
    targets: distinct,
    durationSeconds,
    reason,
    breakGlass,
  }
}

/** `prod-db, prod-cache` or `prod-db ,prod-cache`: a list of targets broken by a space. */
const brokenTargetList = () =>
  new CommandError('Name several targets with commas and no spaces.', EXAMPLES.severalTargets)

function durationFrom(text: string, example: string): number {
  if (text.length > 24)
    throw new CommandError(`"${shown(text)}" is not a duration, such as 30m or 1h30m.`, example)
  const parsed = parseDuration(text)
  if (!parsed.ok) throw new CommandError(`${capitalise(parsed.message)}.`, example)
  return parsed.seconds
}

const SPELLED_OUT_UNITS: [RegExp, string][] = [
  [/^(s|secs?|seconds?)$/i, 's'],
  [/^(m|mins?|minutes?)$/i, 'm'],
  [/^(h|hrs?|hours?)$/i, 'h'],
  [/^(d|days?)$/i, 'd'],
]

/**
 * "3 hours", "3hours" or "90 mins" is what a person types; keyless's form is 3h or 90m. Refused
 * with the form they meant rather than read as a reason, or as "not a duration".
 */
function refuseSpelledOut(word: string, next: string | undefined, example: string): void {
  const joined = /^(\d+)([a-z]+)$/i.exec(word)
  const [amount, unit] = joined ? [joined[1], joined[2]] : /^\d+$/.test(word) ? [word, next] : []
  if (!amount || !unit) return
  const suffix = SPELLED_OUT_UNITS.find(([pattern]) => pattern.test(unit))?.[1]
  if (!suffix || `${amount}${suffix}` === word) return
  const typed = joined ? word : `${word} ${next}`
  throw new CommandError(
    `"${shown(typed)}" is not how durations are written: did you mean ${amount}${suffix}?`,
    example,
  )
}

function grantIdFrom(text: string, example: string): string {
  const id = text.toLowerCase()
  if (!GRANT_ID_PATTERN.test(id)) {
    throw new CommandError(`"${text}" is not a grant id; grant ids look like g-7kq2m9x4ab.`, example)
  }
  return id
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

/** A typed word echoed back: short, whatever was typed. */
const shown = (word: string) => truncate(word, 60)
