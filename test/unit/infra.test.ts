import { Template } from 'aws-cdk-lib/assertions'
import { describe, expect, it } from 'vitest'
import { keylessApp } from '../../infra/keyless-app.ts'
import { INDEXES, TABLE_KEY } from '../../shared/store/keys.ts'
import { grantTableDefinition } from '../../shared/store/table.ts'
import { specConfig } from '../kit/config.ts'

/** The CDK app synthesized offline (no credentials, no network), asserted on its template. */

const config = specConfig()
const { home } = keylessApp(config)
const template = Template.fromStack(home)

describe('the home-region stack', () => {
  it('is in the configured account and home region', () => {
    expect(home.account).toBe('111122223333')
    expect(home.region).toBe('eu-west-1')
  })

  it('the grant table: on demand, recoverable, protected, encrypted, retained, no TTL', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1)
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      },
    })
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'))
    expect(table?.Properties.TimeToLiveSpecification).toBeUndefined()
  })

  it('the grant table has exactly the keys and indexes the code uses (the local table’s definition)', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'))
    const local = grantTableDefinition('local')
    const byName = (list: { AttributeName: string }[]) =>
      [...list].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))
    expect(byName(table?.Properties.AttributeDefinitions)).toEqual(
      byName(local.AttributeDefinitions as never),
    )
    expect(table?.Properties.KeySchema).toEqual(local.KeySchema)
    expect(
      table?.Properties.GlobalSecondaryIndexes.map((index: { IndexName: string }) => index.IndexName).sort(),
    ).toEqual(Object.keys(INDEXES).sort())
    for (const index of table?.Properties.GlobalSecondaryIndexes ?? []) {
      expect(index).toEqual(local.GlobalSecondaryIndexes?.find((want) => want.IndexName === index.IndexName))
    }
    expect(TABLE_KEY.partitionKey).toBe('pk')
  })
})
