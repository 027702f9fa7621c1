import type { Verdict } from './evaluate.ts'

/**
 * A verdict as one JSON line, the shape docs/contract.md gives `keyless check-event` (and `POST
 * /cloudtrail` answers with): who, where, from where, and each rule that fired.
 */
export function verdictLine(
  verdict: Pick<Verdict, 'eventId' | 'eventName' | 'principal' | 'target' | 'sourceIPAddress' | 'findings'>,
) {
  return {
    eventID: verdict.eventId,
    eventName: verdict.eventName,
    principal: verdict.principal,
    target: verdict.target,
    sourceIPAddress: verdict.sourceIPAddress,
    findings: verdict.findings.map(({ rule, severity, detail }) => ({ rule, severity, detail })),
  }
}

/** A record the rules do not cover: not an error, not evaluated. */
export function ignoredLine(eventId: string | null, eventName: string) {
  return { eventID: eventId, eventName, ignored: true as const }
}
