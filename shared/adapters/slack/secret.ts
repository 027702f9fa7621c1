import { z } from 'zod'

/** What Secrets Manager holds for keyless: `{"signingSecret": "…", "botToken": "xoxb-…"}`. */
const slackSecretSchema = z.object({
  signingSecret: z.string().min(1),
  botToken: z.string().startsWith('xoxb-'),
})
export type SlackSecrets = z.infer<typeof slackSecretSchema>

/**
 * The Slack secret's text, read: the functions' and `keyless doctor`'s one reading of it. The
 * text never appears in an error, only which of its fields are wrong (JSON.parse's own message
 * quotes the text it failed on, so it is never passed on).
 */
export function parseSlackSecret(arn: string, text: unknown): SlackSecrets {
  const problem = `the Slack secret ${arn} must be JSON with signingSecret and botToken (xoxb-…)`
  let json: unknown
  try {
    json = JSON.parse(typeof text === 'string' ? text : '')
  } catch {
    throw new Error(`${problem}: it is not JSON`)
  }
  const parsed = slackSecretSchema.safeParse(json)
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(the whole)'))]
    throw new Error(`${problem}: ${fields.join(', ')} missing or malformed`)
  }
  return parsed.data
}
