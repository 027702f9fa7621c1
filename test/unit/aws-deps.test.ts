import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  memoizeSuccess,
  SLACK_SECRET_MAX_AGE_SECONDS,
  slackSecrets,
} from '../../functions/runtime/aws-deps.ts'

/**
 * The functions' composition root at cold start: a failure while building is not remembered,
 * and the Slack secret is read through a cache with a maximum age, its text never quoted.
 */

const secrets = mockClient(SecretsManagerClient)
const saved = { ...process.env }
let arns = 0
/** Each test its own secret: Powertools' cache outlives a test (the module is shared). */
const useSecret = () => {
  const arn = `arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyless-slack-${++arns}`
  process.env.SLACK_SECRET_ARN = arn
  return arn
}
const secretText = (botToken: string) => JSON.stringify({ signingSecret: 'signing-secret-text', botToken })

beforeAll(() => {
  process.env.TABLE_NAME = 'keyless-grants'
  process.env.STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:111122223333:stateMachine:keyless'
  process.env.AWS_REGION = 'eu-west-1'
})
afterEach(() => {
  secrets.reset()
  vi.useRealTimers()
})
afterAll(() => {
  secrets.restore()
  process.env = saved
})

describe('building dependencies', () => {
  it('a failed build is not kept: the next call builds again, a successful one is kept', async () => {
    let builds = 0
    const deps = memoizeSuccess(async () => {
      builds += 1
      if (builds === 1) throw new Error('ThrottlingException: Rate exceeded')
      return { built: builds }
    })
    await expect(deps()).rejects.toThrow('Rate exceeded')
    expect(await deps()).toEqual({ built: 2 })
    expect(await deps()).toEqual({ built: 2 })
    expect(builds).toBe(2)
  })
})

describe('the Slack secret', () => {
  it('a throttled read fails that call only; the next reads again', async () => {
    useSecret()
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: secretText('xoxb-1') })
    await expect(slackSecrets()).rejects.toThrow('Rate exceeded')
    expect((await slackSecrets())?.botToken).toBe('xoxb-1')
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2)
  })

  it(`a rotated secret is read again after ${SLACK_SECRET_MAX_AGE_SECONDS} s, not before`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-11-23T10:00:00Z'))
    const arn = useSecret()
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: secretText('xoxb-old') })
    expect((await slackSecrets())?.botToken).toBe('xoxb-old')
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: secretText('xoxb-new') })
    vi.setSystemTime(new Date(Date.parse('2026-11-23T10:00:00Z') + (SLACK_SECRET_MAX_AGE_SECONDS - 1) * 1000))
    expect((await slackSecrets())?.botToken).toBe('xoxb-old')
    vi.setSystemTime(new Date(Date.parse('2026-11-23T10:00:00Z') + (SLACK_SECRET_MAX_AGE_SECONDS + 1) * 1000))
    expect((await slackSecrets())?.botToken).toBe('xoxb-new')
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2)
  })

  it('a malformed secret is refused naming its fields, never quoting its text', async () => {
    const arn = useSecret()
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'xoxb-pasted-alone-by-mistake' })
    const notJson = await slackSecrets().catch((error: Error) => error.message)
    expect(notJson).toBe(
      `the Slack secret ${arn} must be JSON with signingSecret and botToken (xoxb-…): it is not JSON`,
    )
    const next = useSecret()
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ signingSecret: 'sssh', botToken: 'xoxp-user-token' }) })
    const wrongField = await slackSecrets().catch((error: Error) => error.message)
    expect(wrongField).toBe(
      `the Slack secret ${next} must be JSON with signingSecret and botToken (xoxb-…): botToken missing or malformed`,
    )
    expect(`${notJson}${wrongField}`).not.toMatch(/pasted|sssh|xoxp/)
  })
})
