import type { TargetConfig } from '../config/schema.ts'
import { portForwardDocumentName, SSH_DOCUMENT } from '../policy/grant-policy.ts'

/**
 * How to connect under a grant, as the exact commands for each access kind the target allows.
 * `<instance-id>` is one of the instances tagged for the target; with several regions, `<region>`
 * is the one it runs in.
 */
export function connectionInstructions(target: TargetConfig, regions: string[], expiresAt: string): string[] {
  const region = regions.length === 1 ? (regions[0] ?? '') : '<region>'
  const lines = [
    `Access to ${target.name} is active until ${expiresAt}${regions.length > 1 ? ` in ${regions.join(', ')}` : ''}. IAM takes a few seconds to spread a new policy: if the first attempt is denied, try again shortly.`,
  ]
  const tagged = `an instance tagged ${target.tagKey}=${target.tagValue}`
  if (target.access.includes('shell')) {
    lines.push(`Shell on ${tagged}:\n  aws ssm start-session --region ${region} --target <instance-id>`)
  }
  if (target.access.includes('port-forward')) {
    for (const port of target.ports) {
      lines.push(
        `Forward local port ${port} to port ${port} of ${tagged}:\n  aws ssm start-session --region ${region} --target <instance-id> --document-name ${portForwardDocumentName(target.name, port)} --parameters localPortNumber=${port}`,
      )
    }
  }
  if (target.access.includes('ssh') && target.osUser) {
    const key = '~/.ssh/id_ed25519'
    lines.push(
      `SSH as ${target.osUser} to ${tagged}, carried over Session Manager so that revocation can end it:\n  ssh -i ${key} -o ProxyCommand="sh -c 'aws ec2-instance-connect send-ssh-public-key --region ${region} --instance-id %h --instance-os-user %r --ssh-public-key file://${key}.pub && aws ssm start-session --region ${region} --target %h --document-name ${SSH_DOCUMENT} --parameters portNumber=%p'" ${target.osUser}@<instance-id>\nAn SSH connection made straight over the network instead outlives its 60-second key and cannot be ended by keyless.`,
    )
  }
  return lines
}
