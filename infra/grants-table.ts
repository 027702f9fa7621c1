import { RemovalPolicy } from 'aws-cdk-lib'
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb'
import { Construct } from 'constructs'
import { INDEXES, TABLE_KEY } from '../shared/adapters/dynamodb/keys.ts'

/**
 * The one table keyless keeps: grants (with their whole history) and the verdicts on access
 * events. Keys and indexes come from `shared/adapters/dynamodb/keys.ts`, the same constants the local
 * control plane creates its table from, so the deployed table cannot drift from the code.
 * On demand (grants are bursty and few), point-in-time recovery and deletion protection (the
 * history is the audit trail), encrypted, and retained if the stack is deleted. No TTL: grants
 * and verdicts are the record of who had access and who used it.
 */
export class GrantsTable extends Construct {
  readonly table: Table

  constructor(scope: Construct, id: string) {
    super(scope, id)
    const key = (name: string) => ({ name, type: AttributeType.STRING })
    this.table = new Table(this, 'Table', {
      partitionKey: key(TABLE_KEY.partitionKey),
      sortKey: key(TABLE_KEY.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    })
    for (const [indexName, index] of Object.entries(INDEXES)) {
      this.table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: key(index.partitionKey),
        sortKey: key(index.sortKey),
        projectionType: ProjectionType.ALL,
      })
    }
  }
}
