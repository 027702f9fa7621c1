import { z } from 'zod'
import { GRANT_ID_PATTERN } from '../../shared/core/grants/grant.ts'

/** What the state machine passes its tasks (statemachines/grant.asl.json's Payloads). */

export const grantId = z.string().regex(GRANT_ID_PATTERN)

export const grantTask = z.object({ grantId })

export const waitTask = z.object({
  grantId,
  taskToken: z.string().min(1),
  expiresAt: z.string().optional(),
  timeoutSeconds: z.number().int().positive().optional(),
  asked: z.boolean().optional(),
})

export const expiryTask = z.object({ grantId, expiresAt: z.string() })

/**
 * A caught error's Cause: for a Lambda error, a JSON document whose errorMessage is the text;
 * from the local runner, the text itself.
 */
export const failureTask = z.object({
  grantId,
  reason: z
    .string()
    .default('unknown error')
    .transform((cause) => {
      try {
        const parsed = JSON.parse(cause) as { errorMessage?: unknown }
        return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause
      } catch {
        return cause
      }
    }),
})
