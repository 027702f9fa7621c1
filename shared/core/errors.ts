/**
 * The base of every error whose message is written for the person who caused it: a bad config
 * file, an unknown target, a duration over the limit. Edges (CLI, Slack, HTTP) show `message`
 * as it is; any other error is internal and is shown only as a generic sentence and a log line.
 */
export class KeylessError extends Error {
  override name = 'KeylessError'
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}
