import { readFile } from 'node:fs/promises'
import { type AccessEvent, readRecord } from '../../shared/core/alerts/record.ts'

export const FIXTURES = new URL('../fixtures/cloudtrail/', import.meta.url)

/** A fixture's CloudTrail record (an EventBridge envelope's detail, unwrapped). */
export const fixture = async (name: string) => {
  const raw = JSON.parse(await readFile(new URL(name, FIXTURES), 'utf8'))
  return raw['detail-type'] === 'AWS API Call via CloudTrail' ? raw.detail : raw
}

/** The access event a record reads as; throws for anything else. */
export function access(raw: unknown): AccessEvent {
  const read = readRecord(raw)
  if (read.kind !== 'access') throw new Error(`not an access event: ${JSON.stringify(read)}`)
  return read.event
}

/** A StartSession as AWS records it, by an assumed-role session with MFA, from inside the allowed network. */
export function startSession(overrides: Record<string, unknown> = {}) {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      accountId: '111122223333',
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/alice-ops' },
        attributes: { mfaAuthenticated: 'true' },
      },
    },
    eventTime: '2026-11-23T10:05:00Z',
    eventSource: 'ssm.amazonaws.com',
    eventName: 'StartSession',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.10',
    requestParameters: { target: 'i-0123456789abcdef0' },
    eventID: 'e0000000-0000-4000-8000-000000000001',
    recipientAccountId: '111122223333',
    ...overrides,
  }
}

/** CloudTrail's userIdentity for a session of `role` (a role name in the test account), with MFA unless said. */
export function assumedRole(role: string, session: string, options: { mfa?: boolean; path?: string } = {}) {
  return {
    type: 'AssumedRole',
    // STS names the session without the role's path; the issuer is the role's full ARN.
    arn: `arn:aws:sts::111122223333:assumed-role/${role}/${session}`,
    accountId: '111122223333',
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: `arn:aws:iam::111122223333:role${options.path ?? '/'}${role}` },
      attributes: { mfaAuthenticated: String(options.mfa ?? true) },
    },
  }
}

/** The EventBridge envelope CloudTrail's events arrive in. */
export function envelope(record: {
  eventSource: string
  eventID: string
  awsRegion?: string
  [field: string]: unknown
}) {
  return {
    version: '0',
    id: `eb-${record.eventID}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${record.eventSource.replace('.amazonaws.com', '')}`,
    account: '111122223333',
    time: '2026-11-23T10:05:01Z',
    region: record.awsRegion ?? 'eu-west-1',
    resources: [],
    detail: record,
  }
}
