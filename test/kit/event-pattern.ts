/**
 * EventBridge's event-pattern grammar, the part keyless's rules use, evaluated as EventBridge
 * documents it: every field the pattern names must match; a list of values matches when the
 * event's value (or any element of an event array) equals one of them, or meets one of its
 * `prefix` or `wildcard` filters (`*` any run of characters); a nested object matches the event's
 * object at that key; `$or` matches when any of its patterns does. Other content filters
 * (anything-but, exists, numeric, …) are refused rather than guessed: a rule that starts using
 * one must extend this first.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error(`a pattern is an object, got ${JSON.stringify(pattern)}`)
  if (!isObject(event)) return false
  return Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') {
      if (!Array.isArray(expected))
        throw new Error(`$or takes a list of patterns, got ${JSON.stringify(expected)}`)
      return expected.some((alternative) => matchesPattern(alternative, event))
    }
    const actual = event[key]
    if (Array.isArray(expected)) return matchesValues(expected, actual)
    if (isObject(expected)) return matchesPattern(expected, actual)
    throw new Error(`pattern field ${key} must be a list or an object, got ${JSON.stringify(expected)}`)
  })
}

function matchesValues(expected: unknown[], actual: unknown): boolean {
  const tests = expected.map(valueTest)
  if (actual === undefined) return false
  const candidates = Array.isArray(actual) ? actual : [actual]
  return candidates.some((candidate) => tests.some((test) => test(candidate)))
}

function valueTest(value: unknown): (candidate: unknown) => boolean {
  if (!isObject(value)) return (candidate) => candidate === value
  const [filter, ...others] = Object.entries(value)
  if (!filter || others.length > 0)
    throw new Error(`content filter ${JSON.stringify(value)} is not one filter`)
  const [kind, argument] = filter
  if (kind === 'prefix' && typeof argument === 'string') {
    return (candidate) => typeof candidate === 'string' && candidate.startsWith(argument)
  }
  if (kind === 'wildcard' && typeof argument === 'string') {
    const pattern = new RegExp(`^${argument.split('*').map(escapeRegExp).join('.*')}$`, 's')
    return (candidate) => typeof candidate === 'string' && pattern.test(candidate)
  }
  throw new Error(`content filter ${JSON.stringify(value)} is not supported here`)
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
