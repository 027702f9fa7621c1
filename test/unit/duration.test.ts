import { describe, expect, it } from 'vitest'
import { formatDuration, LONGEST_DURATION_SECONDS, parseDuration } from '../../shared/core/config/duration.ts'

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['1h30m', 5400],
    ['2d', 172800],
    ['1d2h3m4s', 93784],
    [' 45m ', 2700],
    ['30d', LONGEST_DURATION_SECONDS],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toEqual({ ok: true, seconds })
  })

  it.each([
    ['', 'a duration is required, such as 90s, 30m, 1h30m or 2d'],
    ['30', '"30" has no unit: write 30m for minutes (units: d, h, m, s)'],
    ['0m', '"0m" is zero: a duration must be positive'],
    ['0h0m', '"0h0m" is zero: a duration must be positive'],
    ['-5m', '"-5m" is negative: a duration is positive, such as 90s, 30m, 1h30m or 2d'],
    ['1e9h', '"1e9h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['1.5h', '"1.5h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['30m1h', '"30m1h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['1h1h', '"1h1h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['2x', '"2x" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['30M', '"30M" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
    ['31d', '"31d" is longer than 30d, the most any duration may be'],
    [
      '99999999h',
      '"99999999h" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)',
    ],
    ['9999999h', '"9999999h" is longer than 30d, the most any duration may be'],
    ['Infinity', '"Infinity" is not a duration, such as 90s, 30m, 1h30m or 2d (whole units, largest first)'],
  ])('refuses %j', (text, message) => {
    expect(parseDuration(text)).toEqual({ ok: false, message })
  })
})

describe('formatDuration', () => {
  it.each([
    [90, '1m30s'],
    [5400, '1h30m'],
    [172800, '2d'],
    [93784, '1d2h3m4s'],
  ])('writes %i seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text)
  })

  it('refuses what is not a positive whole number of seconds', () => {
    expect(() => formatDuration(0)).toThrow(RangeError)
    expect(() => formatDuration(1.5)).toThrow(RangeError)
  })
})
