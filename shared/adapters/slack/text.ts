/**
 * Text that people type is data. Slack escapes `&`, `<` and `>` in what it sends; keyless
 * undoes that on the way in, strips what would change how text looks without being seen, and
 * escapes again on the way out, so a reason can neither ping anyone nor break a message.
 */

/**
 * C0 and C1 controls (newline and tab kept for now, folded below), bidirectional embeddings,
 * overrides, isolates and marks, zero-width characters and the byte-order mark: characters
 * that can make `prod-db` read as something else, or reverse the rest of a message.
 */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g

/** Slack's own escaping of the three characters it reserves, undone. */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

/** Typed text as keyless keeps it: Slack's escaping undone, invisible characters gone, spaces folded. */
export function cleanTyped(text: string): string {
  return unescapeSlack(text).replace(INVISIBLE, '').replace(/\s+/g, ' ').trim()
}

/** Escapes text for a `mrkdwn` field: `&`, `<` and `>` are the characters Slack gives meaning to. */
export function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A person's text inside a mrkdwn field: escaped, and without backticks that would end our code spans. */
export function quoted(text: string): string {
  return mrkdwn(text).replace(/`/g, "'")
}

/** A Slack user id, as a mention. Ids come from the config or Slack itself, never from typed text. */
export const mention = (userId: string): string => `<@${userId}>`

/**
 * An instant shown in each reader's own time zone, with the UTC text as the fallback that
 * notifications and old clients show.
 */
export function slackDate(iso: string, format = '{date_short_pretty} at {time}'): string {
  const seconds = Math.floor(Date.parse(iso) / 1000)
  return `<!date^${seconds}^${format}|${iso}>`
}

/** Text with each of slackDate's tokens replaced by its UTC fallback: for notifications and logs. */
export function dateFallbacks(text: string): string {
  return text.replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1')
}

/** Slack refuses section text over 3,000 characters; keyless keeps well under it. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
