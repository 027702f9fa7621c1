import { IAMClient } from '@aws-sdk/client-iam'
import { STSClient } from '@aws-sdk/client-sts'
import { authorizationDetailsSchema, readAuthorization } from '../../core/audit/authorization.ts'
import type { AccountSource } from '../../core/audit/scheduled.ts'
import { auditTargets, type TaggedInstance } from '../../core/audit/targets.ts'
import type { KeylessConfig } from '../../core/config/schema.ts'
import { auditorRoleArn } from '../../core/policy/auditor-role.ts'
import { placedGrantRoles } from '../../core/policy/placement.ts'
import { AwsAccessBackend } from './access-backend.ts'
import { type AccessClients, ssmClientsByRegion } from './access-clients.ts'
import { roleCredentials } from './agent-credentials.ts'
import type { AwsClientOverrides } from './clients.ts'
import { AwsPolicySimulator, accountAuthorizationDetails } from './policy-simulator.ts'

/**
 * What the audit of an account reads there: its IAM (one `GetAccountAuthorizationDetails`,
 * paged), IAM's simulator, and the targets' instances Session Manager manages. `clients` are the
 * account's own: the caller's credentials at home, the auditor role's in a member account.
 */
export function accountSource(config: KeylessConfig, account: string, clients: AccessClients): AccountSource {
  return {
    account,
    grantRolePeople: new Set(
      placedGrantRoles(config)
        .filter((role) => role.account === account)
        .map((role) => role.slackUserId),
    ),
    read: async () => {
      const backend = new AwsAccessBackend(() => clients)
      const instances: TaggedInstance[] = []
      for (const target of config.targets.values()) {
        if (target.account.id !== account) continue
        const found = await backend.listInstances({
          account,
          regions: target.account.regions,
          tagKey: target.tagKey,
          tagValue: target.tagValue,
        })
        instances.push(
          ...found.map((instance) => ({ ...instance, account, tags: { [target.tagKey]: target.tagValue } })),
        )
      }
      const details = authorizationDetailsSchema.parse(await accountAuthorizationDetails(clients.iam))
      return {
        authorization: readAuthorization(details),
        targets: auditTargets(config, account, instances),
        simulator: new AwsPolicySimulator(clients.iam),
      }
    },
  }
}

/**
 * Every configured account's source, for the scheduled audit: the home account with the
 * function's own credentials, each member account as its auditor role.
 */
export function auditSources(config: KeylessConfig, overrides: AwsClientOverrides = {}): AccountSource[] {
  const sts = new STSClient(overrides)
  const { credentials: _own, ...rest } = overrides
  return [
    accountSource(config, config.account, {
      iam: new IAMClient(overrides),
      ssm: ssmClientsByRegion(overrides),
    }),
    ...[...config.accounts.values()].map((member) => {
      const credentials = roleCredentials(sts, auditorRoleArn(config.partition, member.id))
      return accountSource(config, member.id, {
        iam: new IAMClient({ ...rest, credentials }),
        ssm: ssmClientsByRegion({ ...rest, credentials }),
      })
    }),
  ]
}
