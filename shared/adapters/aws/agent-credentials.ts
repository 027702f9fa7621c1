import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts'
import type { Partition } from '../../core/aws/arn.ts'
import { agentRoleArn } from '../../core/policy/agent-role.ts'

/** How long the agent's credentials last: the shortest STS gives, since keyless's calls are short. */
const AGENT_SESSION_SECONDS = 900

/**
 * Credentials of a member account's agent role (`role/keyless/keyless-agent`), the only way
 * keyless acts there, as a provider for a client's `credentials`. The SDK memoizes such a
 * provider and calls it again only near the expiry it returns, so a warm function assumes the
 * agent once per account per quarter hour.
 */
export function agentCredentials(sts: STSClient, partition: Partition, account: string) {
  return roleCredentials(sts, agentRoleArn(partition, account))
}

/** Credentials of `roleArn` (the agent's, or the auditor's), as a memoizable provider. */
export function roleCredentials(sts: STSClient, roleArn: string) {
  return async () => {
    const { Credentials: assumed } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'keyless',
        DurationSeconds: AGENT_SESSION_SECONDS,
      }),
    )
    if (!assumed?.AccessKeyId || !assumed.SecretAccessKey) {
      throw new Error(`STS returned no credentials for ${roleArn}`)
    }
    return {
      accessKeyId: assumed.AccessKeyId,
      secretAccessKey: assumed.SecretAccessKey,
      sessionToken: assumed.SessionToken,
      expiration: assumed.Expiration,
    }
  }
}
