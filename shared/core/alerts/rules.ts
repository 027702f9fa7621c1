import { isIP } from 'node:net'
import type { KeylessConfig } from '../config/schema.ts'
import { arnPattern } from './arn-pattern.ts'
import { AllowedNetworks } from './network.ts'
import type { AccessEvent, WatchKind } from './record.ts'

/** docs/contract.md "Alerts": rule names are stable; alerts, stored findings and the CLI use them. */
export const RULES = [
  'NO_MFA',
  'UNEXPECTED_SOURCE_IP',
  'NO_ACTIVE_GRANT',
  'ACCESS_DENIED',
  'ROOT_ACCESS',
  'BREAK_GLASS',
  'SEND_COMMAND',
  'OPEN_TUNNEL',
  'GUI_CONNECTION',
  'SERIAL_CONSOLE',
  'TRAIL_TAMPERED',
  'KEYLESS_TAMPERED',
] as const
export type Rule = (typeof RULES)[number]
export type Severity = 'critical' | 'high' | 'medium'

export interface Finding {
  rule: Rule
  severity: Severity
  /** What happened, in one line, naming who, where and from where. */
  detail: string
  /** What the security team should do about it, in one line. */
  action: string
}

/** The alert settings of the config, compiled once: matchers rather than strings. */
export interface AlertPolicy {
  requireMfa: boolean
  trustsIssuer: (arn: string) => boolean
  networks: AllowedNetworks
}

export function alertPolicy(config: KeylessConfig): AlertPolicy {
  const issuers = config.alerts.trustedMfaSessionIssuers.map(arnPattern)
  return {
    requireMfa: config.alerts.requireMfa,
    trustsIssuer: (arn) => issuers.some((matches) => matches(arn)),
    networks: new AllowedNetworks(config.alerts.allowedSourceCidrs),
  }
}

/** Identities that are AWS itself, not a person: no MFA to expect of them. */
const SERVICE_IDENTITIES = new Set(['AWSService', 'AWSAccount'])

/** The kinds of event that reach an instance: MFA and the network matter for these. */
const REACHES_AN_INSTANCE: ReadonlySet<WatchKind> = new Set(['session', 'command', 'tunnel', 'gui'])

/**
 * The rules that need nothing but the record and the config: who, how authenticated, from
 * where, refused or not. (NO_ACTIVE_GRANT and BREAK_GLASS also need the grants.) Root and a
 * refusal count on every watched event; MFA and the network on those that reach an instance
 * (a trail or a rule changed is alerted for what it is, whoever did it from wherever).
 */
export function statelessFindings(event: AccessEvent, policy: AlertPolicy): Finding[] {
  const findings: Finding[] = []
  // Described only when a rule fires: most events raise nothing.
  let described: string | undefined
  const what = () => {
    described ??= `${event.eventName} by ${event.identity.arn ?? 'an unknown principal'}${onInstances(event)}${event.region ? ` in ${event.region}` : ''}`
    return described
  }

  if (event.identity.type === 'Root') {
    findings.push({
      rule: 'ROOT_ACCESS',
      severity: 'critical',
      detail: `${what()}: the account's root user`,
      action:
        'Root never needs a session: confirm with the account owner now, rotate the root credentials, and review this account in CloudTrail.',
    })
  }
  if (event.denied) {
    findings.push({
      rule: 'ACCESS_DENIED',
      severity: 'medium',
      detail: `${what()} was refused by AWS (${event.denied.code})`,
      action:
        'Expected when they have no grant: ask who tried and why; repeated refusals can be someone probing.',
    })
  }
  if (!REACHES_AN_INSTANCE.has(event.kind)) return findings
  const trusted = event.identity.issuer !== null && policy.trustsIssuer(event.identity.issuer)
  if (
    policy.requireMfa &&
    !event.denied &&
    !event.identity.mfaAuthenticated &&
    !trusted &&
    !SERVICE_IDENTITIES.has(event.identity.type ?? '')
  ) {
    findings.push({
      rule: 'NO_MFA',
      severity: 'high',
      detail: `${what()} without MFA${event.identity.issuer ? ` (session of ${event.identity.issuer})` : ''}`,
      action:
        'Require MFA for this principal (aws:MultiFactorAuthPresent in its trust policy), or, if MFA is enforced at sign-in, list its role in alerts.trustedMfaSessionIssuers.',
    })
  }
  const source = event.sourceIPAddress
  if (source && !policy.networks.empty && !policy.networks.expects(source)) {
    findings.push({
      rule: 'UNEXPECTED_SOURCE_IP',
      severity: 'high',
      detail: `${what()} from ${source}, ${isIP(source) ? 'outside alerts.allowedSourceCidrs' : 'which is neither an IP address nor an AWS service'}`,
      action: 'Confirm with the person that it was them; if not, revoke their grant and their credentials.',
    })
  }
  return findings
}

function onInstances(event: AccessEvent): string {
  if (event.instances.length === 0) return ''
  return ` on ${event.instances.join(', ')}`
}
