import { z } from 'zod'
import { GRANT_ID_PATTERN } from '../../core/grants/grant.ts'

/**
 * The buttons keyless puts in messages and App Home. A button's value carries only what the
 * click is about (a grant id; for Extend, also how much): whoever clicks is taken from Slack's
 * signed payload, and every rule is checked again on the stored grant, so a tampered value can
 * at most name another grant, which the rules then judge as any other click.
 */
export const ACTIONS = {
  approve: 'keyless.approve',
  deny: 'keyless.deny',
  approveExtension: 'keyless.approve-extension',
  denyExtension: 'keyless.deny-extension',
  revoke: 'keyless.revoke',
  cancel: 'keyless.cancel',
  /** Followed by `:<seconds>`, so each Extend button in a message has its own id. */
  extend: 'keyless.extend',
} as const

export const grantIdValue = z.string().regex(GRANT_ID_PATTERN)

export const extendValue = (grantId: string, seconds: number): string => `${grantId}:${seconds}`

export const extendValueSchema = z
  .string()
  .regex(new RegExp(`^${GRANT_ID_PATTERN.source.slice(1, -1)}:\\d{1,7}$`))
  .transform((value) => {
    const [grantId = '', seconds = '0'] = value.split(':')
    return { grantId, durationSeconds: Number(seconds) }
  })
