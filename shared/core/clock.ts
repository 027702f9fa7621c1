/** Time is a dependency: every rule that reads the clock receives one, so tests never sleep. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/**
 * ISO 8601 to the whole second, `2026-11-23T10:00:00Z`: the form IAM's date conditions document,
 * and the resolution every grant time is kept in, so what is stored, shown and enforced agree.
 */
export function isoSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

export function addSeconds(date: Date | string, seconds: number): Date {
  return new Date(new Date(date).getTime() + seconds * 1000)
}
