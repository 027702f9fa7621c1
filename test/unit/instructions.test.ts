import { describe, expect, it } from 'vitest'
import { connectionInstructions } from '../../shared/core/access/instructions.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'

const target = specConfig().targets.get('prod-db')
if (!target) throw new Error('no prod-db')

describe('connection instructions', () => {
  it('give the exact command for each access kind the target allows', () => {
    expect(connectionInstructions(target, ['eu-west-1'], '2026-11-23T10:30:00Z')).toEqual([
      'Access to prod-db is active until 2026-11-23T10:30:00Z. IAM takes a few seconds to spread a new policy: if the first attempt is denied, try again shortly.',
      'Shell on an instance tagged access-target=prod-db:\n  aws ssm start-session --region eu-west-1 --target <instance-id>',
      'Forward local port 5432 to port 5432 of an instance tagged access-target=prod-db:\n  aws ssm start-session --region eu-west-1 --target <instance-id> --document-name keyless-prod-db-port-5432 --parameters localPortNumber=5432',
      `SSH as ec2-user to an instance tagged access-target=prod-db, carried over Session Manager so that revocation can end it:\n  ssh -i ~/.ssh/id_ed25519 -o ProxyCommand="sh -c 'aws ec2-instance-connect send-ssh-public-key --region eu-west-1 --instance-id %h --instance-os-user %r --ssh-public-key file://~/.ssh/id_ed25519.pub && aws ssm start-session --region eu-west-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p'" ec2-user@<instance-id>\nAn SSH connection made straight over the network instead outlives its 60-second key and cannot be ended by keyless.`,
    ])
  })

  it('name the regions when there are several', () => {
    const [first, shell] = connectionInstructions(target, ['eu-west-1', 'us-east-1'], '2026-11-23T10:30:00Z')
    expect(first).toContain('until 2026-11-23T10:30:00Z in eu-west-1, us-east-1.')
    expect(shell).toContain('--region <region>')
  })

  it('name the instances found and connect to the first, in its region', () => {
    const instances = [
      { instanceId: 'i-0aaa0000000000001', region: 'us-east-1' },
      { instanceId: 'i-0bbb0000000000002', region: 'eu-west-1' },
    ]
    const [first, shell, , ssh] = connectionInstructions(
      target,
      ['eu-west-1', 'us-east-1'],
      '2026-11-23T10:30:00Z',
      instances,
    )
    expect(first).toContain('Instances: i-0aaa0000000000001 (us-east-1), i-0bbb0000000000002 (eu-west-1).')
    expect(shell).toBe(
      'Shell on an instance tagged access-target=prod-db:\n  aws ssm start-session --region us-east-1 --target i-0aaa0000000000001',
    )
    expect(ssh).toContain('ec2-user@i-0aaa0000000000001')
    const many = Array.from({ length: 12 }, (_, n) => ({ instanceId: `i-${n}`, region: 'eu-west-1' }))
    expect(connectionInstructions(target, ['eu-west-1'], '2026-11-23T10:30:00Z', many)[0]).toContain(
      'i-9 (eu-west-1) and 2 more.',
    )
    expect(connectionInstructions(target, ['eu-west-1'], '2026-11-23T10:30:00Z', [])[0]).toContain(
      'No instance tagged access-target=prod-db is registered with Session Manager yet.',
    )
  })

  it('reach a grant role through a profile, said once, every aws command using it', () => {
    const raw = specConfigObject()
    raw.organization = { id: 'o-a1b2c3d4e5', deployTo: ['ou-ab12-prodxxxx'] }
    raw.accounts = { prod: { id: '444455556666' } }
    raw.targets['prod-db'].account = 'prod'
    const member = configFrom(raw).targets.get('prod-db')
    if (!member) throw new Error('no prod-db')
    const role = 'arn:aws:iam::444455556666:role/keyless/grant/U0CAROL'
    const [, profile, shell, forward, ssh] = connectionInstructions(
      member,
      ['eu-west-1'],
      '2026-11-23T10:30:00Z',
      [],
      role,
    )
    expect(profile).toBe(
      'Your access is on your keyless role in prod (444455556666), which the commands below reach through a profile. Once, add to ~/.aws/config:\n  [profile keyless-prod]\n  role_arn = arn:aws:iam::444455556666:role/keyless/grant/U0CAROL\n  source_profile = <the profile you sign in with>',
    )
    expect(shell).toContain('aws --profile keyless-prod ssm start-session --region eu-west-1')
    expect(forward).toContain('aws --profile keyless-prod ssm start-session')
    expect(ssh?.match(/aws --profile keyless-prod /g)).toHaveLength(2)
    for (const line of [shell, forward, ssh]) expect(line).not.toMatch(/aws (?!--profile)/)
  })
})
