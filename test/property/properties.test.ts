import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addSeconds, isoSeconds } from '../../shared/core/clock.ts'
import { formatDuration, LONGEST_DURATION_SECONDS, parseDuration } from '../../shared/core/config/duration.ts'
import { ConfigError } from '../../shared/core/config/load.ts'
import { TARGET_NAME_PATTERN } from '../../shared/core/config/schema.ts'
import { grantPolicyFor } from '../../shared/core/policy/grant-policy.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { simulate } from '../kit/iam.ts'

const ROLE = 'arn:aws:iam::111122223333:role/alice-ops'
const INSTANCE = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0'

/** A config whose one target has the given name and tag value; undefined when it is refused. */
function configWithTarget(name: string, tagValue?: string) {
  const raw = specConfigObject()
  raw.targets = {
    [name]: {
      access: ['shell', 'port-forward', 'ssh'],
      ports: [5432],
      osUser: 'ec2-user',
      maxDuration: '30d',
      ...(tagValue === undefined ? {} : { tagValue }),
    },
  }
  try {
    return configFrom(raw)
  } catch (error) {
    if (error instanceof ConfigError) return undefined
    throw error
  }
}

// Strings that look like names, and strings built from the characters that must never pass.
const hostile = fc.constantFrom(
  '*',
  '?',
  '"',
  "'",
  '/',
  '\\',
  ' ',
  '$',
  '{',
  '}',
  'é',
  'ß',
  '名',
  '\u0000',
  '\n',
  '..',
  ':',
)
const nameLike = fc.oneof(
  fc.string({ minLength: 0, maxLength: 60 }),
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/), hostile, fc.stringMatching(/^[a-z0-9-]{0,10}$/))
    .map((parts) => parts.join('')),
)
const duration = fc.integer({ min: 1, max: LONGEST_DURATION_SECONDS })
const activation = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2035-01-01T00:00:00Z'),
  noInvalidDate: true,
})

describe('durations', () => {
  it('read back what they write, for every duration keyless accepts', () => {
    fc.assert(
      fc.property(duration, (seconds) => {
        expect(parseDuration(formatDuration(seconds))).toEqual({ ok: true, seconds })
      }),
    )
  })

  it('are positive, whole and bounded whenever they parse, and never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^-?\d{0,9}[dhms]?\d{0,9}[dhms]?$/)), (text) => {
        const result = parseDuration(text)
        if (result.ok) {
          expect(Number.isSafeInteger(result.seconds)).toBe(true)
          expect(result.seconds).toBeGreaterThan(0)
          expect(result.seconds).toBeLessThanOrEqual(LONGEST_DURATION_SECONDS)
        } else {
          expect(result.message.length).toBeGreaterThan(0)
        }
      }),
    )
  })
})

describe('target names and tag values', () => {
  it('reach a policy only when literal and safe', () => {
    fc.assert(
      fc.property(nameLike, (name) => {
        const config = configWithTarget(name)
        if (!config) return
        expect(name).toMatch(TARGET_NAME_PATTERN)
        const { policy } = grantPolicyFor(config, {
          target: name,
          principal: ROLE,
          durationSeconds: 60,
          activatedAt: new Date(),
        })
        const text = JSON.stringify(policy)
        // The only wildcards and variables in the document are keyless's own.
        const stripped = text
          .replaceAll(':ssm:*:', ':ssm:any-region:')
          .replaceAll('instance/*', '')
          .replaceAll('session/*', '')
          .replaceAll('session/${aws:userid}-*', '')
          .replaceAll('"${aws:userid}"', '')
        expect(stripped).not.toMatch(/[*?$]/)
      }),
    )
  })

  it('match exactly the tag value given, never a pattern', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), nameLike, (name, tagValue) => {
        const config = configWithTarget(name, tagValue)
        if (!config) return
        expect(tagValue).not.toMatch(/[*?$]/)
        const { policy } = grantPolicyFor(config, {
          target: name,
          principal: ROLE,
          durationSeconds: 60,
          activatedAt: new Date(),
        })
        expect(policy.Statement[0]?.Condition.StringEquals).toEqual({
          'ssm:resourceTag/access-target': tagValue,
        })
      }),
    )
  })

  it('allow exactly the tagged instances inside the window, per the IAM simulator', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/),
        fc.stringMatching(/^[A-Za-z0-9 _.:/=+@-]{1,40}$/),
        duration,
        activation,
        async (name, tagValue, seconds, activatedAt) => {
          const config = configWithTarget(name, tagValue)
          expect(config).toBeDefined()
          if (!config) return
          const { policy, expiresAt } = grantPolicyFor(config, {
            target: name,
            principal: ROLE,
            durationSeconds: seconds,
            activatedAt,
          })
          expect(expiresAt).toBe(isoSeconds(addSeconds(isoSeconds(activatedAt), seconds)))
          const start = (value: string, time: string) => ({
            action: 'ssm:StartSession',
            resource: INSTANCE,
            context: {
              'ssm:resourceTag/access-target': value,
              'ssm:SessionDocumentAccessCheck': 'true',
              'aws:CurrentTime': time,
            },
          })
          const lastSecond = isoSeconds(addSeconds(expiresAt, -1))
          expect(await simulate(policy, start(tagValue, lastSecond))).toBe('Allowed')
          expect(await simulate(policy, start(`${tagValue}x`, lastSecond))).toBe('ImplicitlyDenied')
          if (tagValue.length > 1) {
            // A prefix of the value is another value: StringEquals never matches a part.
            expect(await simulate(policy, start(tagValue.slice(0, -1), lastSecond))).toBe('ImplicitlyDenied')
          }
          expect(await simulate(policy, start(tagValue, expiresAt))).toBe('ImplicitlyDenied')
        },
      ),
      { numRuns: 60 },
    )
  })
})
