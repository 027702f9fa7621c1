import { Duration, Stack } from 'aws-cdk-lib'
import { Rule, Schedule } from 'aws-cdk-lib/aws-events'
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets'
import { PolicyStatement } from 'aws-cdk-lib/aws-iam'
import type { IQueue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { KEYLESS_RULE_NAMES } from '../shared/core/alerts/keyless-pieces.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { auditorRoleArn, auditStatements } from '../shared/core/policy/auditor-role.ts'
import { type FunctionSurroundings, KeylessFunction } from './keyless-function.ts'

/**
 * The scheduled standing-access audit (`audit.schedule`, weekly by default): reads every
 * configured account's IAM — the home account's with its own role, each member's as that
 * account's auditor role — asks IAM's simulator about the candidates, and tells the security
 * channel what changed. It changes nothing. Its construct id makes its role `Keyless-Audit…`,
 * the name the member accounts' auditor role trusts (shared/core/policy/auditor-role.ts).
 */
export class StandingAccessAudit extends Construct {
  readonly handler: KeylessFunction

  constructor(
    scope: Construct,
    id: string,
    props: FunctionSurroundings & { config: KeylessConfig; failures: IQueue },
  ) {
    super(scope, id)
    const { config } = props
    this.handler = new KeylessFunction(this, 'Handler', {
      ...props,
      folder: 'audit',
      description: "audits who can reach targets' instances without a grant; tells security what changed",
      // An account of thousands of roles asks the simulator hundreds of times.
      timeout: Duration.minutes(15),
      deadLetterQueue: props.failures,
    })
    for (const statement of auditStatements(config.partition, Stack.of(this).account)) {
      this.handler.allow(
        new PolicyStatement({
          sid: statement.Sid,
          actions: statement.Action,
          resources: [statement.Resource].flat(),
        }),
      )
    }
    const members = [...config.accounts.values()].map((account) =>
      auditorRoleArn(config.partition, account.id),
    )
    if (members.length > 0) {
      this.handler.allow(
        new PolicyStatement({ sid: 'ActAsAuditors', actions: ['sts:AssumeRole'], resources: members }),
      )
    }
    new Rule(this, 'Schedule', {
      ruleName: KEYLESS_RULE_NAMES.audit,
      description: 'keyless: runs the standing-access audit',
      schedule: Schedule.expression(config.audit.schedule),
      targets: [
        new LambdaFunction(this.handler.function, { deadLetterQueue: props.failures, retryAttempts: 2 }),
      ],
    })
  }
}
