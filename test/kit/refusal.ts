import { KeylessError } from '../../shared/core/errors.ts'

/** The refusal `action` throws: its code and the sentence the user reads. Fails if it is allowed. */
export function refusal(action: () => unknown): { code: string; message: string } {
  try {
    action()
  } catch (error) {
    if (error instanceof KeylessError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('the action was allowed')
}
