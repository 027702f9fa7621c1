import type { TargetConfig } from '../config/schema.ts'
import type { KeylessPieces } from './keyless-pieces.ts'
import type { AccessEvent } from './record.ts'
import type { Finding } from './rules.ts'

/**
 * Every other way onto an instance that CloudTrail records, and every way around the alerts:
 * one finding each, with what to do. No keyless grant allows any of them, so no grant covers
 * them. A call AWS refused raises ACCESS_DENIED instead (the stateless rules), not these.
 */

/**
 * What the rules know of the instances a call reached: the targets of the instances it named
 * (by their tags) or addressed by the targets' tag; `unknown` when it was addressed some other
 * way (another tag, a resource group), so it could have reached any instance.
 */
export interface Reach {
  targets: TargetConfig[]
  unknown: boolean
}

export function otherWayFinding(
  event: AccessEvent,
  reach: Reach,
  pieces: KeylessPieces,
): Finding | undefined {
  if (event.denied) return undefined
  const who = event.identity.arn ?? 'an unknown principal'
  const where = event.region ? ` in ${event.region}` : ''
  const account = event.account ? `, account ${event.account}` : ''
  const names = reach.targets.map((target) => target.name).join(', ')
  const onInstances = event.instances.length > 0 ? ` on ${event.instances.join(', ')}` : ''
  switch (event.kind) {
    case 'command':
      if (reach.targets.length === 0 && !reach.unknown) return undefined
      return {
        rule: 'SEND_COMMAND',
        severity: 'critical',
        detail: reach.targets.length
          ? `Run Command by ${who}${onInstances}${event.subject ? ` (${event.subject})` : ''} (${names})${where}: commands on a target's instances, outside any grant`
          : `Run Command by ${who} addressed to ${event.subject ?? 'instances it does not name'}${where}: it can reach any instance, a target's among them`,
        action:
          'Run Command runs as root on the instance and no keyless grant allows it: ask who sent it and why, read its output in Systems Manager, and take ssm:SendCommand away from this principal (keyless audit shows who else has it).',
      }
    case 'tunnel':
      return {
        rule: 'OPEN_TUNNEL',
        severity: 'high',
        detail: `EC2 Instance Connect Endpoint tunnel opened by ${who} to ${event.subject ?? 'an address it does not name'}${where}${account}`,
        action:
          'A tunnel reaches any port of any address the endpoint can route to, outside keyless: ask who opened it, and take ec2-instance-connect:OpenTunnel away unless the team means to keep it.',
      }
    case 'gui':
      return {
        rule: 'GUI_CONNECTION',
        severity: reach.targets.length > 0 ? 'critical' : 'high',
        detail: `Fleet Manager Remote Desktop connection by ${who}${onInstances}${names ? ` (${names})` : ''}${where}`,
        action:
          'Remote Desktop through Fleet Manager is a way onto the instance keyless does not grant: ask who connected, and take ssm-guiconnect:StartConnection away from this principal.',
      }
    case 'serial-console':
      return serialConsole(
        `${event.eventName} by ${who}${where}${account}: the EC2 serial console is now allowed in this account`,
      )
    case 'session':
      // The serial console is a way in of its own; its other rules (grants, MFA) still apply.
      return event.eventName === 'SendSerialConsoleSSHPublicKey'
        ? serialConsole(
            `serial console key pushed by ${who}${onInstances}${names ? ` (${names})` : ''}${where}`,
          )
        : undefined
    case 'trail': {
      const blinding = event.eventName === 'StopLogging' || event.eventName === 'DeleteTrail'
      return {
        rule: 'TRAIL_TAMPERED',
        severity: blinding ? 'critical' : 'high',
        detail: `${event.eventName} on ${event.subject ?? 'a trail'} by ${who}${where}${account}${blinding ? ': CloudTrail stops recording, and keyless stops seeing access' : ': what CloudTrail records may have changed'}`,
        action: blinding
          ? 'Turn the trail back on now (aws cloudtrail start-logging), find who did this, and treat everything since as unseen.'
          : 'Check the trail still records management events in every region keyless watches (keyless doctor --stack checks the home region).',
      }
    }
    case 'keyless-piece':
    case 'heartbeat': {
      if (!pieces.touchesPiece(event) || pieces.byKeyless(event)) return undefined
      const deploy = pieces.byDeploy(event)
      return {
        rule: 'KEYLESS_TAMPERED',
        severity: deploy ? 'medium' : 'critical',
        detail: `${event.eventName} on keyless's ${event.subject ?? 'piece'} by ${who}${deploy ? ' through CloudFormation' : ''}${where}${account}`,
        action: deploy
          ? 'Expected while keyless is deployed (cdk deploy, or its StackSet): confirm a deploy ran at this time.'
          : 'Something other than keyless changed its rules, documents, grant roles or boundary: find who, undo it (cdk deploy puts keyless back), and check what it let through meanwhile.',
      }
    }
    default:
      return undefined
  }
}

function serialConsole(detail: string): Finding {
  return {
    rule: 'SERIAL_CONSOLE',
    severity: 'critical',
    detail,
    action:
      'The serial console is a root login keyless never grants: ask who, turn it off (aws ec2 disable-serial-console-access) unless it is being used for recovery right now.',
  }
}
