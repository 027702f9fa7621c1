/**
 * The ways onto an instance an IAM policy can give, and the cheap first look that picks the
 * principals worth asking IAM about. The look reads only a statement's effect and actions
 * (wildcards, NotAction): resources, conditions, boundaries and denies are IAM's to judge, so it
 * may pick a principal IAM then refuses, never miss one IAM would allow.
 */

/** What each reach action is asked about: an instance of the target, or the account's other resources. */
export interface ReachAction {
  action: string
  /** The resource the simulator is asked about, for an instance (`instance`) or the region's kind of resource. */
  resource: 'instance' | 'automation-definition' | 'instance-connect-endpoint' | 'any'
}

export const REACH_ACTIONS: readonly ReachAction[] = [
  { action: 'ssm:StartSession', resource: 'instance' },
  { action: 'ssm:SendCommand', resource: 'instance' },
  { action: 'ssm:StartAutomationExecution', resource: 'automation-definition' },
  { action: 'ssm:CreateAssociation', resource: 'instance' },
  { action: 'ec2-instance-connect:SendSSHPublicKey', resource: 'instance' },
  { action: 'ec2-instance-connect:SendSerialConsoleSSHPublicKey', resource: 'instance' },
  { action: 'ec2-instance-connect:OpenTunnel', resource: 'instance-connect-endpoint' },
  { action: 'ssm-guiconnect:StartConnection', resource: 'any' },
]

interface Statement {
  Effect?: unknown
  Action?: unknown
  NotAction?: unknown
}

/** Whether some Allow statement of `document` names `action` (or does not exclude it, with NotAction). */
export function mayAllow(document: unknown, action: string): boolean {
  return statementsOf(document).some((statement) => {
    if (statement.Effect !== 'Allow') return false
    if (statement.Action !== undefined)
      return listOf(statement.Action).some((pattern) => matches(pattern, action))
    if (statement.NotAction !== undefined)
      return !listOf(statement.NotAction).some((pattern) => matches(pattern, action))
    return false
  })
}

function statementsOf(document: unknown): Statement[] {
  if (typeof document !== 'object' || document === null) return []
  const statements = (document as { Statement?: unknown }).Statement
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements]
  return list.filter(
    (statement): statement is Statement => typeof statement === 'object' && statement !== null,
  )
}

const listOf = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string')

/** IAM's action matching: case-insensitive, `*` any run and `?` one character. */
function matches(pattern: string, action: string): boolean {
  let compiled = compiledPatterns.get(pattern)
  if (!compiled) {
    const source = pattern
      .split('')
      .map((character) =>
        character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.+^${}()|[\]\\/]/g, '\\$&'),
      )
      .join('')
    compiled = new RegExp(`^${source}$`, 'i')
    compiledPatterns.set(pattern, compiled)
  }
  return compiled.test(action)
}

/** An account repeats the same few action patterns across thousands of statements: compiled once each. */
const compiledPatterns = new Map<string, RegExp>()
