import { KeylessError } from '../errors.ts'

export type GrantErrorCode =
  | 'UNKNOWN_PERSON'
  | 'INVALID_REQUEST'
  | 'NO_POSSIBLE_APPROVER'
  /** A Slack user group among the approvers could not be read: nothing was requested. */
  | 'APPROVER_GROUP_UNREADABLE'
  | 'GRANT_NOT_FOUND'
  | 'NOT_ALLOWED'
  | 'SELF_APPROVAL'
  | 'NOT_AN_APPROVER'
  | 'ALREADY_APPROVED'
  | 'ALREADY_DECIDED'
  | 'REQUEST_EXPIRED'
  | 'INVALID_STATE'
  | 'NOT_YET_EXPIRED'
  | 'EXTENSION_PENDING'
  | 'NO_EXTENSION_PENDING'
  | 'EXTENSION_OVER_LIMIT'
  | 'CONFLICT'
  | 'CLIENT_TOKEN_COLLISION'

/** A refusal by the grant rules. `message` is a sentence for the person who asked. */
export class GrantError extends KeylessError {
  override name = 'GrantError'
  declare readonly code: GrantErrorCode

  constructor(code: GrantErrorCode, message: string) {
    super(code, message)
  }
}
