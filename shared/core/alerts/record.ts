import { z } from 'zod'

/**
 * CloudTrail records of the events keyless watches, as AWS writes them, read for the alert
 * rules. Real records vary more than tidy ones: IAM users with long-term keys have no
 * sessionContext, denied calls carry errorCode and no responseElements, older records name
 * fields differently, and anything may be missing or null. Only what the rules need is required.
 */

/**
 * How the rules read a watched event: an access to an instance (`session`), another way onto one
 * (`command`, `tunnel`, `gui`, `serial-console`), something that would blind the alerts (`trail`),
 * a change to one of keyless's own pieces (`keyless-piece`, judged against the config), or the
 * reconciler's heartbeat through the whole CloudTrail path (`heartbeat`).
 */
export type WatchKind =
  | 'session'
  | 'command'
  | 'tunnel'
  | 'gui'
  | 'serial-console'
  | 'trail'
  | 'keyless-piece'
  | 'heartbeat'

/** Every event keyless watches, by the service that records it, with how it is read. */
export const WATCHED_EVENTS: Readonly<Record<string, Readonly<Record<string, WatchKind>>>> = {
  'ssm.amazonaws.com': {
    StartSession: 'session',
    ResumeSession: 'session',
    SendCommand: 'command',
    UpdateDocument: 'keyless-piece',
    DeleteDocument: 'keyless-piece',
    ModifyDocumentPermission: 'keyless-piece',
    UpdateDocumentDefaultVersion: 'keyless-piece',
    PutParameter: 'heartbeat',
  },
  'ec2-instance-connect.amazonaws.com': {
    SendSSHPublicKey: 'session',
    SendSerialConsoleSSHPublicKey: 'session',
    OpenTunnel: 'tunnel',
  },
  'ssm-guiconnect.amazonaws.com': { StartConnection: 'gui' },
  'ec2.amazonaws.com': { EnableSerialConsoleAccess: 'serial-console' },
  'cloudtrail.amazonaws.com': {
    StopLogging: 'trail',
    DeleteTrail: 'trail',
    UpdateTrail: 'trail',
    PutEventSelectors: 'trail',
  },
  'events.amazonaws.com': {
    DisableRule: 'keyless-piece',
    DeleteRule: 'keyless-piece',
    PutRule: 'keyless-piece',
    RemoveTargets: 'keyless-piece',
  },
  // Grant roles, the agent role and the grant boundary (IAM records its calls in us-east-1 only).
  'iam.amazonaws.com': {
    PutRolePolicy: 'keyless-piece',
    DeleteRolePolicy: 'keyless-piece',
    AttachRolePolicy: 'keyless-piece',
    DetachRolePolicy: 'keyless-piece',
    UpdateAssumeRolePolicy: 'keyless-piece',
    PutRolePermissionsBoundary: 'keyless-piece',
    DeleteRolePermissionsBoundary: 'keyless-piece',
    DeleteRole: 'keyless-piece',
    CreatePolicyVersion: 'keyless-piece',
    SetDefaultPolicyVersion: 'keyless-piece',
    DeletePolicyVersion: 'keyless-piece',
    DeletePolicy: 'keyless-piece',
  },
}

/** The EventBridge `source` under which each of those services' CloudTrail records arrive. */
export const EVENTBRIDGE_SOURCES: Readonly<Record<string, string>> = {
  'aws.ssm': 'ssm.amazonaws.com',
  'aws.ec2-instance-connect': 'ec2-instance-connect.amazonaws.com',
  'aws.ssm-guiconnect': 'ssm-guiconnect.amazonaws.com',
  'aws.ec2': 'ec2.amazonaws.com',
  'aws.cloudtrail': 'cloudtrail.amazonaws.com',
  'aws.events': 'events.amazonaws.com',
  'aws.iam': 'iam.amazonaws.com',
}

/** The SSM parameter the reconciler writes as its heartbeat: the one `PutParameter` watched. */
export const HEARTBEAT_PARAMETER = '/keyless/heartbeat'

/** A watched event, read. (Named for the access events it began with; it carries every kind.) */
export interface AccessEvent {
  eventId: string
  eventName: string
  eventSource: string
  /** How the rules read it. */
  kind: WatchKind
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
    /** The AWS service that made the call for the principal (CloudFormation during a deploy). */
    invokedBy: string | null
  }
  /** The instances accessed (`i-…`, `mi-…`); empty when the record does not name one (ResumeSession). */
  instances: string[]
  /** Set when AWS refused the call. */
  denied: { code: string; message: string | null } | null
  /** The Session document asked for, when named (port forwarding, SSH over Session Manager). */
  document: string | null
  /**
   * What else the call named: a tunnel's private address and port, a command's addressing other
   * than instance ids, or the thing changed (a trail, a rule, a document, a role, a policy ARN).
   */
  subject: string | null
  /** A command's addressing other than instance ids (`tag:<key>` and its values, a resource group). */
  addressedTo: { key: string; values: string[] }[]
}

export type ReadRecord =
  | { kind: 'access'; event: AccessEvent }
  /** A well-formed record of something else: not a watched event. */
  | { kind: 'ignored'; eventId: string | null; eventName: string }
  | { kind: 'malformed'; field: string; problem: string }

const text = z.string().nullish()

const identitySchema = z
  .looseObject({
    type: text,
    arn: text,
    accountId: text,
    invokedBy: text,
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

/** An EC2 instance or a managed (hybrid) node. Tested directly: most named fields are absent. */
const INSTANCE_ID = /^m?i-[0-9a-f]{8,17}$/

const requestSchema = z
  .looseObject({
    target: text,
    instanceId: text,
    // Fleet Manager's StartConnection spells it with a capital.
    InstanceId: text,
    instanceIds: z.array(z.string()).nullish(),
    documentName: text,
    // SendCommand's other addressing: tags, resource groups (`key`/`values`, as CloudTrail writes them).
    targets: z.array(z.looseObject({ key: text, values: z.array(z.string()).nullish() })).nullish(),
    // OpenTunnel: an Instance Connect Endpoint reaches an address, not a named instance.
    privateIpAddress: text,
    remotePort: z.union([z.string(), z.number()]).nullish(),
    // What a change names: trails, rules, documents, parameters; IAM roles and policies.
    name: text,
    rule: text,
    trailName: text,
    roleName: text,
    policyArn: text,
  })
  .nullish()

const recordSchema = z.looseObject({
  eventID: z.string().min(1),
  eventName: z.string(),
  eventTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not a time'),
  awsRegion: text,
  recipientAccountId: text,
  sourceIPAddress: text,
  userIdentity: identitySchema,
  requestParameters: requestSchema,
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
  const kind = WATCHED_EVENTS[eventSource]?.[eventName]
  if (!kind) return { kind: 'ignored', eventId: typeof eventID === 'string' ? eventID : null, eventName }
  const parsed = recordSchema.safeParse(raw)
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
  // A PutParameter of anything but the heartbeat is not keyless's business.
  if (kind === 'heartbeat' && requested?.name !== HEARTBEAT_PARAMETER) {
    return { kind: 'ignored', eventId: record.eventID, eventName: record.eventName }
  }
  const named = [
    requested?.target,
    requested?.instanceId,
    requested?.InstanceId,
    ...(requested?.instanceIds ?? []),
    ...(requested?.targets ?? []).flatMap((target) =>
      target.key === 'InstanceIds' ? (target.values ?? []) : [],
    ),
  ]
  return {
    kind: 'access',
    event: {
      eventId: record.eventID,
      eventName: record.eventName,
      eventSource,
      kind,
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
        invokedBy: identity?.invokedBy ?? null,
      },
      instances: [
        ...new Set(named.filter((id): id is string => typeof id === 'string' && INSTANCE_ID.test(id))),
      ],
      denied: record.errorCode ? { code: record.errorCode, message: record.errorMessage ?? null } : null,
      document: requested?.documentName ?? null,
      subject: subjectOf(kind, requested),
      addressedTo: (requested?.targets ?? []).flatMap((target) =>
        target.key && target.key !== 'InstanceIds' ? [{ key: target.key, values: target.values ?? [] }] : [],
      ),
    },
  }
}

function subjectOf(kind: WatchKind, requested: z.output<typeof requestSchema>): string | null {
  if (!requested) return null
  switch (kind) {
    case 'tunnel':
      return requested.privateIpAddress
        ? `${requested.privateIpAddress}${requested.remotePort ? ` port ${requested.remotePort}` : ''}`
        : null
    case 'command': {
      const others = (requested.targets ?? []).filter((target) => target.key !== 'InstanceIds')
      return others.length > 0
        ? others.map((target) => `${target.key}=${(target.values ?? []).join(',')}`).join('; ')
        : null
    }
    case 'trail':
      return requested.name ?? requested.trailName ?? null
    case 'keyless-piece':
    case 'heartbeat':
      return requested.roleName ?? requested.policyArn ?? requested.rule ?? requested.name ?? null
    default:
      return null
  }
}
