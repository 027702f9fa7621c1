import type { TargetConfig } from '../config/schema.ts'
import { portForwardDocumentName, SSH_DOCUMENT } from '../policy/grant-policy.ts'
import type { TargetInstance } from './backend.ts'

/** How many instance ids the "active" message names; the rest are counted. */
const NAMED_INSTANCES = 10

/**
 * How to connect under a grant, as the exact commands for each access kind the target allows,
 * on the first of `instances` (the target's instances Session Manager manages, looked up when
 * access was attached) and in its region; every instance is named. Where none is known (none
 * registered yet, or `instances` undefined: the lookup failed), `<instance-id>` and `<region>`
 * stand in for them. When the grant is on the person's grant role (`grantRole`, its ARN), the
 * commands use a profile that assumes it, and the message says once how to add that profile.
 */
export function connectionInstructions(
  target: TargetConfig,
  regions: string[],
  expiresAt: string,
  instances?: readonly TargetInstance[],
  grantRole?: string,
): string[] {
  const profile = `keyless-${target.account.name}`
  const aws = grantRole ? `aws --profile ${profile}` : 'aws'
  const first = instances?.[0]
  const region = first?.region ?? (regions.length === 1 ? (regions[0] ?? '') : '<region>')
  const instanceId = first?.instanceId ?? '<instance-id>'
  const lines = [
    `Access to ${target.name} is active until ${expiresAt}${regions.length > 1 ? ` in ${regions.join(', ')}` : ''}. IAM takes a few seconds to spread a new policy: if the first attempt is denied, try again shortly.${instances ? ` ${describeInstances(target, instances)}` : ''}`,
  ]
  if (grantRole) {
    lines.push(
      `Your access is on your keyless role in ${target.account.name} (${target.account.id}), which the commands below reach through a profile. Once, add to ~/.aws/config:\n  [profile ${profile}]\n  role_arn = ${grantRole}\n  source_profile = <the profile you sign in with>`,
    )
  }
  const tagged = `an instance tagged ${target.tagKey}=${target.tagValue}`
  if (target.access.includes('shell')) {
    lines.push(`Shell on ${tagged}:\n  ${aws} ssm start-session --region ${region} --target ${instanceId}`)
  }
  if (target.access.includes('port-forward')) {
    for (const port of target.ports) {
      lines.push(
        `Forward local port ${port} to port ${port} of ${tagged}:\n  ${aws} ssm start-session --region ${region} --target ${instanceId} --document-name ${portForwardDocumentName(target.name, port)} --parameters localPortNumber=${port}`,
      )
    }
  }
  if (target.access.includes('ssh') && target.osUser) {
    const key = '~/.ssh/id_ed25519'
    lines.push(
      `SSH as ${target.osUser} to ${tagged}, carried over Session Manager so that revocation can end it:\n  ssh -i ${key} -o ProxyCommand="sh -c '${aws} ec2-instance-connect send-ssh-public-key --region ${region} --instance-id %h --instance-os-user %r --ssh-public-key file://${key}.pub && ${aws} ssm start-session --region ${region} --target %h --document-name ${SSH_DOCUMENT} --parameters portNumber=%p'" ${target.osUser}@${instanceId}\nAn SSH connection made straight over the network instead outlives its 60-second key and cannot be ended by keyless.`,
    )
  }
  return lines
}

function describeInstances(target: TargetConfig, instances: readonly TargetInstance[]): string {
  if (instances.length === 0)
    return `No instance tagged ${target.tagKey}=${target.tagValue} is registered with Session Manager yet.`
  const named = instances
    .slice(0, NAMED_INSTANCES)
    .map((instance) => `${instance.instanceId} (${instance.region})`)
  const more = instances.length > NAMED_INSTANCES ? ` and ${instances.length - NAMED_INSTANCES} more` : ''
  return `Instances: ${named.join(', ')}${more}.`
}
