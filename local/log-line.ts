/**
 * One JSON log line, as `npm start` writes them: an Error anywhere in it is written as its name,
 * message, stack and cause (JSON.stringify alone would write `{}`), as Powertools does in Lambda.
 */
export function logLine(fields: Record<string, unknown>): string {
  return JSON.stringify(fields, (_key, value: unknown) =>
    value instanceof Error
      ? {
          name: value.name,
          message: value.message,
          ...(value.stack ? { stack: value.stack } : {}),
          ...(value.cause === undefined ? {} : { cause: value.cause }),
        }
      : value,
  )
}
