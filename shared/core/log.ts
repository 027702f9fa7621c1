/**
 * The core's one logging port: what must not stop the work (a notification that failed, a
 * signal not delivered) is reported as a message and structured details. An error goes in as
 * the Error itself, under `error`: the logger behind it (Powertools in Lambda, JSON lines
 * locally) prints its name, message, stack and cause.
 */
export type Warn = (message: string, details: Record<string, unknown>) => void
