import { z } from 'zod'

/**
 * CloudTrail records of access to instances, as AWS writes them, read for the alert rules.
 * Real records vary more than tidy ones: IAM users with long-term keys have no sessionContext,
 * denied calls carry errorCode and no responseElements, older records name fields differently,
 * and anything may be missing or null. Only what the rules need is required.
 */

/** The access events keyless evaluates, by the service that records them. */
export const ACCESS_EVENTS: Readonly<Record<string, readonly string[]>> = {
  'ssm.amazonaws.com': ['StartSession', 'ResumeSession'],
  'ec2-instance-connect.amazonaws.com': ['SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'],
}

/** The EventBridge `source` under which each of those services' CloudTrail records arrive. */
export const EVENTBRIDGE_SOURCES: Readonly<Record<string, string>> = {
  'aws.ssm': 'ssm.amazonaws.com',
  'aws.ec2-instance-connect': 'ec2-instance-connect.amazonaws.com',
}

export interface AccessEvent {
  eventId: string
  eventName: string
  eventTime: string
  /** The account the access happened in (an organisation trail delivers many). */
  account: string | null
  region: string | null
  /** An IP address, or an origin inside AWS (`ssm.amazonaws.com`, `AWS Internal`). */
  sourceIPAddress: string | null
  identity: {
    /** CloudTrail's userIdentity.type: IAMUser, AssumedRole, Root, FederatedUser, … */
    type: string | null
    /** Who acted: a user's ARN, an assumed-role session's ARN, the account root. */
    arn: string | null
    /** For a role session, the role it came from: what keyless's config names as a principal. */
    issuer: string | null
    /** CloudTrail says the session was authenticated with MFA. */
    mfaAuthenticated: boolean
  }
  /** The instances accessed (`i-…`, `mi-…`); empty when the record does not name one (ResumeSession). */
  instances: string[]
  /** Set when AWS refused the call. */
  denied: { code: string; message: string | null } | null
  /** The Session document asked for, when named (port forwarding, SSH over Session Manager). */
  document: string | null
}

export type ReadRecord =
  | { kind: 'access'; event: AccessEvent }
  /** A well-formed record of something else: not an access event. */
  | { kind: 'ignored'; eventId: string | null; eventName: string }
  | { kind: 'malformed'; field: string; problem: string }

const text = z.string().nullish()

const identitySchema = z
  .looseObject({
    type: text,
    arn: text,
    accountId: text,
    sessionContext: z
      .looseObject({
        sessionIssuer: z.looseObject({ arn: text }).nullish(),
        attributes: z
          .looseObject({ mfaAuthenticated: z.union([z.string(), z.boolean()]).nullish() })
          .nullish(),
      })
      .nullish(),
  })
  .nullish()

const instanceId = z.string().regex(/^m?i-[0-9a-f]{8,17}$/)

const accessSchema = z.looseObject({
  eventID: z.string().min(1),
  eventName: z.string(),
  eventTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not a time'),
  awsRegion: text,
  recipientAccountId: text,
  sourceIPAddress: text,
  userIdentity: identitySchema,
  requestParameters: z
    .looseObject({
      target: text,
      instanceId: text,
      instanceIds: z.array(z.string()).nullish(),
      documentName: text,
    })
    .nullish(),
  errorCode: text,
  errorMessage: text,
})

/** Reads one CloudTrail record (the record itself, not an EventBridge envelope). */
export function readRecord(raw: unknown): ReadRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { kind: 'malformed', field: '(record)', problem: 'is not a JSON object' }
  }
  const { eventSource, eventName, eventID } = raw as Record<string, unknown>
  if (typeof eventName !== 'string') return { kind: 'malformed', field: 'eventName', problem: 'is missing' }
  if (typeof eventSource !== 'string')
    return { kind: 'malformed', field: 'eventSource', problem: 'is missing' }
  if (!ACCESS_EVENTS[eventSource]?.includes(eventName)) {
    return { kind: 'ignored', eventId: typeof eventID === 'string' ? eventID : null, eventName }
  }
  const parsed = accessSchema.safeParse(raw)
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path ?? []
    const value = path.reduce<unknown>(
      (at, key) => (at as Record<PropertyKey, unknown> | undefined)?.[key],
      raw,
    )
    return {
      kind: 'malformed',
      field: path.join('.') || '(record)',
      problem: value === undefined ? 'is missing' : (parsed.error.issues[0]?.message ?? 'is not valid'),
    }
  }
  const record = parsed.data
  const identity = record.userIdentity
  const requested = record.requestParameters
  const named = [requested?.target, requested?.instanceId, ...(requested?.instanceIds ?? [])]
  return {
    kind: 'access',
    event: {
      eventId: record.eventID,
      eventName: record.eventName,
      eventTime: record.eventTime,
      account: record.recipientAccountId ?? identity?.accountId ?? null,
      region: record.awsRegion ?? null,
      sourceIPAddress: record.sourceIPAddress ?? null,
      identity: {
        type: identity?.type ?? null,
        arn: identity?.arn ?? null,
        issuer: identity?.sessionContext?.sessionIssuer?.arn ?? null,
        // Only an explicit "true": a user's long-term keys carry no session context at all.
        mfaAuthenticated: String(identity?.sessionContext?.attributes?.mfaAuthenticated) === 'true',
      },
      instances: [...new Set(named.filter((id): id is string => instanceId.safeParse(id).success))],
      denied: record.errorCode ? { code: record.errorCode, message: record.errorMessage ?? null } : null,
      document: requested?.documentName ?? null,
    },
  }
}
