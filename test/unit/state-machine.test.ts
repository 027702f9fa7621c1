import { readFile } from 'node:fs/promises'
import validator from 'asl-validator'
import { describe, expect, it } from 'vitest'
import { GRANT_WORKFLOW_TASKS } from '../../functions/grant-workflow-tasks.ts'
import { GRANT_STATE_MACHINE } from '../../local/workflow.ts'
import { AccessBackendRetryableError } from '../../shared/core/access/backend.ts'
import { AlertNotSentError } from '../../shared/core/grants/tasks.ts'
import { WORKFLOW_ERRORS } from '../../shared/core/workflow/errors.ts'

const definition = JSON.parse(await readFile(GRANT_STATE_MACHINE, 'utf8'))
type State = {
  Type: string
  Resource?: string
  Parameters?: { FunctionName?: string }
  [key: string]: unknown
}
const states = Object.entries(definition.States as Record<string, State>)
const tasks = states.filter(([, state]) => state.Type === 'Task')

describe('statemachines/grant.asl.json', () => {
  it('passes asl-validator, paths and ARNs checked', () => {
    const result = validator(definition, { checkPaths: true, checkArn: true })
    expect(result.errorsText('\n')).toBe('')
    expect(result.isValid).toBe(true)
  })

  it("matches exactly keyless's own error names (beyond AWS's States.* and Lambda.*), each thrown by the code", () => {
    const named = new Set<string>()
    const collect = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(collect)
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'ErrorEquals') for (const name of inner as string[]) named.add(name)
          else collect(inner)
        }
      }
    }
    collect(definition)
    const ours = [...named].filter((name) => !/^(States|Lambda)\./.test(name)).sort()
    expect(ours).toEqual(Object.values(WORKFLOW_ERRORS).sort())
    // The errors the code throws carry those names.
    expect(new AccessBackendRetryableError('x').name).toBe(WORKFLOW_ERRORS.accessBackendRetryable)
    expect(new AlertNotSentError('x').name).toBe(WORKFLOW_ERRORS.alertNotSent)
  })

  it('is written in JSONPath, the query language whose Parameters the local runner evaluates', () => {
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath')
    expect(JSON.stringify(definition)).not.toContain('JSONata')
  })

  it('names every task function by a definition substitution that has a deployed function and local code', () => {
    const substitutions = tasks.map(
      ([, state]) => /^\$\{(\w+)\}$/.exec(state.Parameters?.FunctionName ?? '')?.[1],
    )
    expect(substitutions.every(Boolean)).toBe(true)
    expect(new Set(substitutions)).toEqual(new Set(Object.keys(GRANT_WORKFLOW_TASKS)))
  })

  it('bounds every wait: each callback task has a timeout, read from the same path AWS and the local runner use', () => {
    for (const [name, state] of tasks.filter(([, state]) => state.Resource?.endsWith('.waitForTaskToken'))) {
      expect(state.TimeoutSecondsPath, name).toBe('$.Payload.timeoutSeconds')
      expect(
        (state.Parameters as { Payload: Record<string, string> }).Payload['timeoutSeconds.$'],
        name,
      ).toBe('$.Payload.timeoutSeconds')
    }
  })

  it('retries throttled IAM and SSM calls with backoff wherever access is attached or removed', () => {
    for (const name of ['Attach access', 'Extend access', 'Revoke access']) {
      const retry = (definition.States[name].Retry as { ErrorEquals: string[]; BackoffRate: number }[]).find(
        (rule) => rule.ErrorEquals.includes('AccessBackendRetryable'),
      )
      expect(retry?.BackoffRate, name).toBeGreaterThan(1)
    }
  })

  it('never leaves a revocation without a next step: its failure is caught and alerted', () => {
    expect(definition.States['Revoke access'].Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Mark revocation failed' },
    ])
  })

  it('never sets ResultPath "$" explicitly (the local runner would write a key named "$")', () => {
    for (const [name, state] of states) expect(state.ResultPath, name).not.toBe('$')
  })
})
