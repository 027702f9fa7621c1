import { RemovalPolicy, Stack } from 'aws-cdk-lib'
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { CfnDocument } from 'aws-cdk-lib/aws-ssm'
import { AwsCustomResource, PhysicalResourceId } from 'aws-cdk-lib/custom-resources'
import { Construct } from 'constructs'
import { HOME_ACCOUNT_NAME, type KeylessConfig, type TargetConfig } from '../shared/core/config/schema.ts'
import { portForwardDocumentName, SHELL_DOCUMENT } from '../shared/core/policy/grant-policy.ts'
import { KEYLESS_ROLE_PATH, ownLogsStatement } from './permissions.ts'

// The local port the person picks (0 lets the plugin choose): digits 0–65535, nothing else.
const LOCAL_PORT_PATTERN =
  '^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'

/**
 * A port-forwarding Session document with the remote port fixed in it: IAM cannot condition on
 * a document's parameters, so the document is what limits a grant to its port. Shaped like
 * AWS-StartPortForwardingSession, without the portNumber parameter.
 */
export function portForwardDocument(target: string, port: number) {
  return {
    schemaVersion: '1.0',
    description: `keyless: forwards a local port to port ${port} of ${target}'s instances`,
    sessionType: 'Port',
    parameters: {
      localPortNumber: {
        type: 'String',
        description: 'The local port to listen on (0 picks a free one)',
        allowedPattern: LOCAL_PORT_PATTERN,
        default: '0',
      },
    },
    properties: {
      portNumber: String(port),
      type: 'LocalPortForwarding',
      localPortNumber: '{{ localPortNumber }}',
    },
  }
}

/** Session Manager's defaults for the account's shell document, used only where it is absent. */
export const DEFAULT_SHELL_PREFERENCES = {
  schemaVersion: '1.0',
  description: 'Session Manager preferences (created by keyless because the account had none)',
  sessionType: 'Standard_Stream',
  inputs: {
    s3BucketName: '',
    s3KeyPrefix: '',
    s3EncryptionEnabled: true,
    cloudWatchLogGroupName: '',
    cloudWatchEncryptionEnabled: true,
    cloudWatchStreamingEnabled: false,
    kmsKeyId: '',
    runAsEnabled: false,
    runAsDefaultUser: '',
    idleSessionTimeout: '20',
    shellProfile: { windows: '', linux: '' },
  },
}

/**
 * A port-forwarding document per target and port, under the names the policy builder uses,
 * made directly in `scope` (their construct ids are their names, so their logical ids stay put).
 */
export function addPortForwardDocuments(scope: Construct, targets: Iterable<TargetConfig>): void {
  for (const target of targets) {
    for (const port of target.ports) {
      const name = portForwardDocumentName(target.name, port)
      new CfnDocument(scope, name, {
        name,
        documentType: 'Session',
        documentFormat: 'JSON',
        content: portForwardDocument(target.name, port),
        updateMethod: 'NewVersion',
      })
    }
  }
}

/**
 * In one region of the home account: the port-forwarding documents of its targets, and the
 * account's shell document `SSM-SessionManagerRunShell` if it is absent — the grant policy
 * names it, and Session Manager keeps its logging preferences there. An existing one is the
 * account's own and is never changed or deleted.
 */
export class SessionDocuments extends Construct {
  constructor(scope: Construct, id: string, props: { config: KeylessConfig }) {
    super(scope, id)
    const homeTargets = [...props.config.targets.values()].filter(
      (target) => target.account.name === HOME_ACCOUNT_NAME,
    )
    addPortForwardDocuments(this, homeTargets)
    const stack = Stack.of(this)
    const shellDocumentArn = stack.formatArn({
      service: 'ssm',
      resource: 'document',
      resourceName: SHELL_DOCUMENT,
    })
    const role = new Role(this, 'ShellPreferencesRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      path: KEYLESS_ROLE_PATH,
      description: `keyless: creates ${SHELL_DOCUMENT} if the account has none`,
    })
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CreateShellDocument',
        actions: ['ssm:CreateDocument'],
        resources: [shellDocumentArn],
      }),
    )
    const logGroup = new LogGroup(this, 'ShellPreferencesLogs', {
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    })
    role.addToPrincipalPolicy(ownLogsStatement(logGroup))
    new AwsCustomResource(this, 'ShellPreferences', {
      onCreate: {
        service: 'SSM',
        action: 'createDocument',
        parameters: {
          Name: SHELL_DOCUMENT,
          DocumentType: 'Session',
          DocumentFormat: 'JSON',
          Content: JSON.stringify(DEFAULT_SHELL_PREFERENCES),
        },
        // Present already: the account's preferences stay as they are.
        ignoreErrorCodesMatching: 'DocumentAlreadyExists',
        physicalResourceId: PhysicalResourceId.of(`${SHELL_DOCUMENT}-if-absent`),
      },
      role,
      logGroup,
      installLatestAwsSdk: false,
    })
  }
}
