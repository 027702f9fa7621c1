import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib'
import type { Construct } from 'constructs'
import type { KeylessConfig } from '../shared/config/schema.ts'
import { GrantsTable } from './grants-table.ts'

export interface KeylessStackProps extends StackProps {
  config: KeylessConfig
}

/**
 * The home-region stack: one construct per capability. (Being built: the grant table so far;
 * the workflow, the Slack endpoint, the alert rule and the reconciler follow.)
 */
export class KeylessStack extends Stack {
  readonly grants: GrantsTable

  constructor(scope: Construct, id: string, props: KeylessStackProps) {
    super(scope, id, props)
    this.grants = new GrantsTable(this, 'Grants')
    new CfnOutput(this, 'GrantTableName', { value: this.grants.table.tableName })
  }
}
