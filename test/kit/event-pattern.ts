/**
 * EventBridge's event-pattern grammar, the part keyless's rules use, evaluated as EventBridge
 * documents it: every field the pattern names must match; a list of values matches when the
 * event's value (or any element of an event array) equals one of them; a nested object matches
 * the event's object at that key. Content filters (prefix, anything-but, exists, numeric, …)
 * are refused rather than guessed: a rule that starts using one must extend this first.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error(`a pattern is an object, got ${JSON.stringify(pattern)}`)
  if (!isObject(event)) return false
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key]
    if (Array.isArray(expected)) return matchesValues(expected, actual)
    if (isObject(expected)) return matchesPattern(expected, actual)
    throw new Error(`pattern field ${key} must be a list or an object, got ${JSON.stringify(expected)}`)
  })
}

function matchesValues(expected: unknown[], actual: unknown): boolean {
  for (const value of expected) {
    if (isObject(value)) throw new Error(`content filter ${JSON.stringify(value)} is not supported here`)
  }
  if (actual === undefined) return false
  const candidates = Array.isArray(actual) ? actual : [actual]
  return candidates.some((candidate) => expected.some((value) => value === candidate))
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
