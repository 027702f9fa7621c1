import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CommandError, parseAccessCommand } from '../../shared/adapters/slack/command.ts'
import { cleanTyped, mrkdwn, quoted, unescapeSlack } from '../../shared/adapters/slack/text.ts'
import { anyText } from '../kit/slack.ts'

const TARGETS = new Set(['prod-db', 'dev-web', 'list'])
const parse = (text: string) => parseAccessCommand(text, TARGETS)

function refusal(text: string): { message: string; example: string } {
  try {
    parse(text)
  } catch (error) {
    if (error instanceof CommandError) return { message: error.message, example: error.example }
    throw error
  }
  throw new Error(`"${text}" was accepted`)
}

describe('/access command text', () => {
  it('reads every form the contract lists', () => {
    expect(parse('')).toEqual({ kind: 'help' })
    expect(parse('  help ')).toEqual({ kind: 'help' })
    expect(parse('targets')).toEqual({ kind: 'targets' })
    expect(parse('prod-db 30m fixing replication lag')).toEqual({
      kind: 'request',
      target: 'prod-db',
      targets: ['prod-db'],
      durationSeconds: 1800,
      reason: 'fixing replication lag',
      breakGlass: false,
    })
    // Several targets: one word, comma-separated; each must be a target, named once.
    expect(parse('prod-db,dev-web,prod-db 30m one incident')).toMatchObject({
      kind: 'request',
      target: 'prod-db',
      targets: ['prod-db', 'dev-web'],
    })
    expect(parse('prod-db 1h30m')).toMatchObject({ kind: 'request', durationSeconds: 5400, reason: '' })
    expect(parse('prod-db 1h --break-glass primary down, paged')).toMatchObject({
      breakGlass: true,
      reason: 'primary down, paged',
    })
    expect(parse('revoke g-7kq2m9x4ab')).toEqual({ kind: 'revoke', grantId: 'g-7kq2m9x4ab', reason: '' })
    expect(parse('revoke G-7KQ2M9X4AB done')).toEqual({
      kind: 'revoke',
      grantId: 'g-7kq2m9x4ab',
      reason: 'done',
    })
    expect(parse('extend g-7kq2m9x4ab 30m')).toEqual({
      kind: 'extend',
      grantId: 'g-7kq2m9x4ab',
      durationSeconds: 1800,
    })
    expect(parse('cancel g-7kq2m9x4ab')).toEqual({ kind: 'cancel', grantId: 'g-7kq2m9x4ab' })
  })

  it('takes --break-glass as a phone or a Mac types it (an em or en dash)', () => {
    expect(parse('prod-db 1h \u2014break-glass db down')).toMatchObject({
      breakGlass: true,
      reason: 'db down',
    })
    expect(parse('prod-db 1h \u2013break-glass db down')).toMatchObject({ breakGlass: true })
  })

  it('lets a target named like a subcommand be requested when its arguments say so', () => {
    expect(parse('list')).toEqual({ kind: 'list' })
    expect(parse('list 30m checking')).toMatchObject({ kind: 'request', target: 'list' })
  })

  it('refuses with what was wrong and an example of the right form', () => {
    expect(refusal('prod-dbb 30m')).toEqual({
      message: 'There is no target "prod-dbb". Targets: prod-db, dev-web, list (see `/access targets`).',
      example: '/access prod-db 30m fixing replication lag',
    })
    expect(refusal('prod-db').message).toBe('Say how long you need prod-db for.')
    expect(refusal('prod-db 30').message).toBe('"30" has no unit: write 30m for minutes (units: d, h, m, s).')
    expect(refusal('prod-db -5m').message).toContain('is negative')
    expect(refusal('prod-db 1h --break-glass')).toMatchObject({
      message: expect.stringContaining('needs a reason'),
      example: '/access prod-db 1h --break-glass primary is down, on-call paged',
    })
    expect(refusal('prod-db 1h oops --break-glass reason').message).toBe(
      'Put --break-glass right after the duration.',
    )
    expect(refusal('revoke').message).toContain('needs the id of a grant')
    expect(refusal('extend g-7kq2m9x4ab')).toMatchObject({ example: '/access extend g-7kq2m9x4ab 30m' })
    expect(refusal('cancel g-7kq2m9x4ab now').message).toBe('`cancel` takes only the grant id.')
    // A look-alike id with letters Crockford base32 leaves out is not a grant id.
    expect(refusal('revoke g-ilou000000').message).toContain('is not a grant id')
    expect(refusal(`prod-db ${'9'.repeat(30)}m`).message).toContain('is not a duration')
    expect(refusal('x'.repeat(4001)).message).toContain('keep it under 4000')
  })

  it('a list of targets broken by a space is refused with the form meant, not as an unknown target', () => {
    for (const text of [
      'prod-db, dev-web 30m fix',
      'prod-db ,dev-web 30m fix',
      'prod-db,,dev-web 30m',
      ',prod-db 30m',
    ]) {
      expect(refusal(text), text).toEqual({
        message: 'Name several targets with commas and no spaces.',
        example: '/access prod-db,prod-cache 30m one incident',
      })
    }
    expect(refusal('prod-dbb,dev-web 30m').message).toContain('There is no target "prod-dbb"')
  })

  it('a duration spelled out as people say it is refused with the form they meant', () => {
    expect(refusal('prod-db 3 hours fixing lag')).toEqual({
      message: '"3 hours" is not how durations are written: did you mean 3h?',
      example: '/access prod-db 30m fixing replication lag',
    })
    expect(refusal('prod-db 90 mins').message).toBe(
      '"90 mins" is not how durations are written: did you mean 90m?',
    )
    expect(refusal('prod-db 2days').message).toBe(
      '"2days" is not how durations are written: did you mean 2d?',
    )
    expect(refusal('extend g-7kq2m9x4ab 1 hour')).toEqual({
      message: '"1 hour" is not how durations are written: did you mean 1h?',
      example: '/access extend g-7kq2m9x4ab 30m',
    })
    // A number followed by an ordinary word is still just not a duration.
    expect(refusal('prod-db 3 hosts are down').message).toMatch(/^"3" has no unit: write 3m for minutes/)
    expect(parse('prod-db 3h hours of work')).toMatchObject({
      durationSeconds: 10800,
      reason: 'hours of work',
    })
  })

  it('never lets invisible or reserved characters steer parsing', () => {
    // A right-to-left override or a zero-width space inside a target name is removed, not matched around.
    expect(parse('prod\u200B-db 30m')).toMatchObject({ target: 'prod-db' })
    expect(parse('\u202Eprod-db 30m why')).toMatchObject({ target: 'prod-db', reason: 'why' })
    // Slack escapes & < > in what it sends; the reason is kept as typed.
    expect(parse('prod-db 30m a &lt;b&gt; &amp; c')).toMatchObject({ reason: 'a <b> & c' })
  })

  it('either returns a command or refuses with a CommandError, for any text at all', () => {
    const word = fc.oneof(
      fc.constantFrom(
        'prod-db',
        'dev-web',
        'list',
        'revoke',
        'extend',
        'cancel',
        'help',
        '--break-glass',
        '30m',
        '0m',
        'g-7kq2m9x4ab',
      ),
      fc.string({ maxLength: 12 }),
      anyText(12),
    )
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), (words) => {
        const text = words.join(' ')
        try {
          const command = parse(text)
          if (command.kind === 'request') {
            expect(TARGETS.has(command.target)).toBe(true)
            expect(command.durationSeconds).toBeGreaterThan(0)
            if (command.breakGlass) expect(command.reason).not.toBe('')
          }
        } catch (error) {
          expect(error).toBeInstanceOf(CommandError)
        }
      }),
      { numRuns: 200 },
    )
  })
})

describe('typed text', () => {
  it('is unescaped from Slack, stripped of invisible characters and folded', () => {
    expect(unescapeSlack('&lt;@U1&gt; &amp;amp;')).toBe('<@U1> &amp;')
    expect(cleanTyped(' a\u0000b\tc\n\nd\u2066e\uFEFF ')).toBe('ab c de')
  })

  it('is escaped for mrkdwn, so it can neither ping nor link', () => {
    expect(mrkdwn('<!here> <@U1> a & b')).toBe('&lt;!here&gt; &lt;@U1&gt; a &amp; b')
    expect(quoted('`rm -rf` <x>')).toBe("'rm -rf' &lt;x&gt;")
  })

  it('survives the round trip: whatever is typed is shown as typed, never as markup', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (typed) => {
        const shown = mrkdwn(cleanTyped(mrkdwn(typed)))
        expect(shown).not.toMatch(/<[^>]*>/)
        expect(shown.replace(/&(lt|gt|amp);/g, '')).not.toMatch(/[<>]/)
      }),
      { numRuns: 300 },
    )
  })
})
