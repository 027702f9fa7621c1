import { Validations } from 'aws-cdk-lib'
import { Trail } from 'aws-cdk-lib/aws-cloudtrail'
import type { CfnRole } from 'aws-cdk-lib/aws-iam'
import { RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import { KEYLESS_ROLE_PATH } from './permissions.ts'

/**
 * An optional multi-region trail of management events (`keyless:createTrail`), for accounts
 * without one: EventBridge receives CloudTrail's API-call events only while a trail records
 * them. Log files validated, bucket private, encrypted and TLS-only (CDK's defaults), events
 * also in CloudWatch Logs for a year.
 */
export class AccessTrail extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id)
    const trail = new Trail(this, 'Trail', {
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogsRetention: RetentionDays.ONE_YEAR,
    })
    // The role CloudTrail writes to CloudWatch Logs with is created inside Trail; it belongs
    // with keyless's other roles (the path the explicit deny and PERMISSIONS.md name).
    const logsRole = trail.node.findChild('LogsRole').node.defaultChild as CfnRole
    logsRole.path = KEYLESS_ROLE_PATH
    Validations.of(trail).acknowledge({
      id: 'AwsSolutions-CT3',
      reason:
        'The trail bucket uses S3-managed encryption; an organisation that requires a KMS key for trails usually has its own organisation trail, and then needs no keyless trail.',
    })
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "The trail's bucket is written only by CloudTrail; server access logs of it would need a further bucket of their own.",
    })
  }
}
