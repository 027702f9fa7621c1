import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startDevServer } from '../../local/dev-server.ts'
import { defaultInstances, localInstances } from '../../local/instances.ts'
import { runningControlPlane } from '../../local/operator-api.ts'
import { ACTIONS } from '../../shared/adapters/slack/actions.ts'
import { grantPolicyName } from '../../shared/core/access/backend.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import { approveRequest, revokeGrant, submitRequest } from '../../shared/core/grants/control.ts'
import { grantIdFor, newClientToken } from '../../shared/core/grants/grant.ts'
import { runKeyless } from '../kit/cli.ts'
import { access, startSession } from '../kit/cloudtrail.ts'
import { configFrom, specConfigObject } from '../kit/config.ts'
import { ALICE, workflowConfig } from '../kit/plane.ts'
import { untilGrant } from '../kit/poll.ts'
import {
  buttonBody,
  commandBody,
  newTrigger,
  type SlackRecorder,
  signed,
  startSlackRecorder,
  TEST_SIGNING_SECRET,
} from '../kit/slack.ts'

const quiet = () => {}

const made: string[] = []
/** A data folder for one test, removed when the file is done. */
async function dataFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-dev-'))
  made.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })))
})

// Each test has its own data folder and ports, and most of their time is spent waiting on the
// workflow's timers or a child process: they wait together.
describe.concurrent('the local control plane', () => {
  it('answers /healthz, runs grants through the real workflow, and keeps its data across restarts', async () => {
    const dataDir = await dataFolder()
    const first = await startDevServer({ config: workflowConfig(), dataDir, port: 0, log: quiet })
    const health = await fetch(`${first.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    expect((await fetch(`${first.url}/nope`)).status).toBe(404)

    const { grant } = await submitRequest(first.plane.control, {
      clientToken: newClientToken(),
      target: 'dev-web',
      requester: 'U0ALICE',
      durationSeconds: 1,
      reason: 'trying keyless locally',
    })
    expect((await first.plane.workflow.executions.get(grant.id)?.done)?.status).toBe('SUCCEEDED')
    await first.close()

    const second = await startDevServer({ config: workflowConfig(), dataDir, port: 0, log: quiet })
    expect((await second.plane.control.store.get(grant.id))?.status).toBe('EXPIRED')
    await second.close()
  })

  it('resumes every live grant at start: a request is not asked again and can still be approved; active access still ends', async () => {
    const dataDir = await dataFolder()
    const slack = await startSlackRecorder()
    const options = { config: workflowConfig(), dataDir, port: 0, log: quiet, slack: { apiUrl: slack.url } }
    const first = await startDevServer(options)
    const request = (target: string, durationSeconds: number) =>
      submitRequest(first.plane.control, {
        clientToken: newClientToken(),
        target,
        requester: 'U0ALICE',
        durationSeconds,
        reason: 'across a restart',
      })
    const { grant: pending } = await request('prod-db', 3600)
    const { grant: active } = await request('dev-web', 3)
    let store = first.plane.control.store
    // Every approver and the approval channel have their copy; the dev-web grant is active.
    const asked = await untilGrant(
      store,
      pending.id,
      (grant) => grant.slackMessages?.length === grant.approvers.length + 1,
      5000,
    )
    await untilGrant(store, active.id, (grant) => grant.status === 'ACTIVE', 5000)
    await first.close()
    const approvalPosts = slack.of('chat.postMessage').length

    const second = await startDevServer(options)
    store = second.plane.control.store
    try {
      expect((await second.plane.workflow.latestExecution(pending.id))?.running).toBe(true)
      expect((await second.plane.workflow.latestExecution(active.id))?.running).toBe(true)
      await untilGrant(store, pending.id, (grant) => grant.taskToken !== asked.taskToken, 5000)
      // The restarted request waits again, asking nobody twice.
      const postsTo = (channel: string) =>
        slack
          .of('chat.postMessage')
          .filter((call) => call.args.channel === channel && JSON.stringify(call.args).includes(pending.id))
          .length
      for (const approver of asked.approvers) expect(postsTo(approver), approver).toBe(1)
      expect(postsTo('C0APPROVALS')).toBe(1)
      // Resuming is the plane doing its job: nothing for the security channel.
      expect(slack.of('chat.postMessage').filter((call) => call.args.channel === 'C0SECURITY')).toEqual([])

      await approveRequest(second.plane.control, pending.id, { kind: 'slack', id: 'U0MANAGER1' })
      await untilGrant(store, pending.id, (grant) => grant.status === 'ACTIVE', 5000)
      const ended = await untilGrant(store, active.id, (grant) => grant.status === 'EXPIRED', 8000)
      expect(Date.parse(ended.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(ended.expiresAt ?? ''))
      expect(second.backend.policyOf(ALICE, grantPolicyName(active.id))).toBeUndefined()
      expect(second.backend.policyOf(ALICE, grantPolicyName(pending.id))).toBeDefined()
      expect(slack.of('chat.postMessage').length).toBeGreaterThan(approvalPosts)
    } finally {
      await second.close()
      await slack.close()
    }
  })

  it('refuses a malformed Slack setting with one line, never echoing a secret', async () => {
    const refused = (env: NodeJS.ProcessEnv) => runKeyless(['dev'], env)
    expect(await refused({ SLACK_BOT_TOKEN: 'xoxp-a-user-token' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'keyless: SLACK_BOT_TOKEN=(hidden) is not a bot token, xoxb-…\n',
    })
    expect((await refused({ SLACK_APP_TOKEN: 'xoxb-1' })).stderr).toBe(
      'keyless: SLACK_APP_TOKEN=(hidden) is not an app-level token with connections:write, xapp-…\n',
    )
    expect((await refused({ SLACK_SIGNING_SECRET: 'short' })).stderr).toBe(
      "keyless: SLACK_SIGNING_SECRET=(hidden) is not your Slack app's signing secret (Basic Information → App Credentials)\n",
    )
    expect((await refused({ SLACK_API_URL: 'ftp://example' })).stderr).toBe(
      'keyless: SLACK_API_URL="ftp://example" is not an http(s) URL, e.g. http://127.0.0.1:9000/api/\n',
    )
  })

  it('reads the local instances from instances.json, refusing a bad one with its path, before starting', async () => {
    const dataDir = await dataFolder()
    const file = join(dataDir, 'instances.json')
    const refused = async (content: string) => {
      await writeFile(file, content)
      return runKeyless(['dev'], { KEYLESS_DATA_DIR: dataDir, KEYLESS_CONFIG: 'keyless.config.example.yaml' })
    }
    expect(
      await refused(
        '[{"instanceId": "i-0123456789abcdef0", "region": "eu-west-1", "tags": {}}, {"instanceId": "web-1", "region": "eu-west-1", "tags": {}}]',
      ),
    ).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `keyless: ${file}: [1].instanceId is not an EC2 instance id, e.g. i-0123456789abcdef0\n`,
    })
    expect(
      (await refused('[{"instanceId": "i-0123456789abcdef0", "region": "eu-west-1", "tags": {}, "tag": 1}]'))
        .stderr,
    ).toBe(`keyless: ${file}: [0] Unrecognized key: "tag"\n`)
    expect((await refused('{')).stderr).toBe(`keyless: ${file} is not JSON\n`)
    // Nothing was started: no record of a running plane.
    expect(await runningControlPlane(dataDir)).toBeUndefined()

    const fleet = [
      { instanceId: 'i-0123456789abcdef0', region: 'us-east-1', tags: { 'access-target': 'prod-db' } },
    ]
    await writeFile(file, JSON.stringify(fleet))
    expect(await localInstances(workflowConfig(), dataDir)).toEqual(fleet)
  })

  it('without instances.json, runs one instance per target and region, the same on every start', () => {
    const config = workflowConfig()
    const instances = defaultInstances(config)
    expect(instances).toHaveLength(config.targets.size * config.regions.length)
    expect(defaultInstances(config)).toEqual(instances)
    for (const target of config.targets.values()) {
      expect(
        instances.filter((instance) => instance.tags[target.tagKey] === target.tagValue).map((i) => i.region),
      ).toEqual(config.regions)
    }
    expect(new Set(instances.map((instance) => instance.instanceId)).size).toBe(instances.length)
    for (const { instanceId } of instances) expect(instanceId).toMatch(/^i-0[0-9a-f]{16}$/)
  })

  it('refuses a bad PORT with one line', async () => {
    expect(await runKeyless(['dev'], { PORT: 'eighty' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'keyless: PORT="eighty" is not a port number from 0 to 65535, e.g. PORT=3000\n',
    })
  })
})

/**
 * The local control plane over `config` with a loopback Slack Web API, and signed Slack requests
 * to it: `post` sends one to POST /slack/events and returns what it answered.
 */
async function withSlack(config: KeylessConfig) {
  const slack = await startSlackRecorder()
  const server = await startDevServer({
    config,
    instances: defaultInstances(config),
    dataDir: await dataFolder(),
    port: 0,
    log: quiet,
    slack: { apiUrl: slack.url, signingSecret: TEST_SIGNING_SECRET },
  })
  const post = async (body: string) => {
    const response = await fetch(`${server.url}/slack/events`, { method: 'POST', ...signed(body) })
    const text = await response.text()
    return text ? (JSON.parse(text) as { text?: string }) : {}
  }
  /** `/access <text>` by `user`, and the grant it made once its approvers are being asked. */
  const ask = async (user: string, text: string) => {
    const trigger = newTrigger()
    const reply = await post(commandBody(user, text, trigger))
    const asked = await untilGrant(
      server.plane.control.store,
      grantIdFor(trigger),
      (grant) => grant.taskToken !== undefined,
      5000,
    )
    return { reply, asked }
  }
  return {
    slack,
    server,
    post,
    ask,
    close: async () => {
      await server.close()
      await slack.close()
    },
  }
}

describe('approvers named as a Slack user group, through signed Slack requests', () => {
  it('a member approves; the requester, though in the group, cannot; a group Slack cannot read refuses the request', async () => {
    const raw = specConfigObject()
    raw.targets['prod-db'].approvers = ['S0DBAS']
    raw.people.U0ALICE.manager = 'U0BOB'
    const { slack, server, post, ask, close } = await withSlack(configFrom(raw))
    try {
      slack.answer('usergroups.users.list', { users: ['U0MANAGER1', 'U0ALICE'] })
      const { asked } = await ask('U0ALICE', 'prod-db 30m group approval')
      const store = server.plane.control.store
      // Read when requested and fixed on the grant: the group's members and her manager, never Alice.
      expect(slack.of('usergroups.users.list').map((call) => call.args.usergroup)).toEqual(['S0DBAS'])
      expect(asked.approvers).toEqual(['U0MANAGER1', 'U0BOB'])
      await post(buttonBody('U0ALICE', ACTIONS.approve, asked.id, 'D0ALICE'))
      expect((await store.get(asked.id))?.history.at(-1)).toMatchObject({
        action: 'refused',
        actor: { id: 'U0ALICE' },
      })
      await post(buttonBody('U0MANAGER1', ACTIONS.approve, asked.id, 'D0MANAGER1'))
      await untilGrant(store, asked.id, (grant) => grant.status === 'ACTIVE', 5000)

      slack.fail('usergroups.users.list', 'no_such_subteam')
      const refused = newTrigger()
      const reply = await post(commandBody('U0ALICE', 'prod-db 30m once more', refused))
      expect(JSON.stringify(reply)).toContain('Could not read the Slack user group S0DBAS')
      expect(await store.get(grantIdFor(refused))).toBeUndefined()
    } finally {
      await close()
    }
  })
})

/** The text of the first message or ephemeral reply to `user` containing `phrase`, once one was sent. */
async function untilTold(slack: SlackRecorder, user: string, phrase: string): Promise<string> {
  const deadline = Date.now() + 5000
  for (;;) {
    const sent = [...slack.of('chat.postEphemeral'), ...slack.of('chat.postMessage')]
      .filter(
        (call) =>
          call.args.user === user || call.args.channel === user || call.args.channel === `D0${user.slice(2)}`,
      )
      .map((call) => JSON.stringify(call.args))
      .find((text) => text.includes(phrase))
    if (sent) return sent
    if (Date.now() > deadline) throw new Error(`${user} was not told "${phrase}"`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('a request over several targets, through signed Slack requests', () => {
  it('one grant: a click for one target leaves it pending, a click that approves both attaches one policy over both', async () => {
    const raw = specConfigObject()
    raw.targets['dev-web'] = { access: ['shell'], maxDuration: '8h', approvers: ['U0MANAGER2'] }
    raw.targets['prod-db'].approvers = ['U0MANAGER1', 'U0MANAGER2']
    raw.people.U0ALICE.manager = undefined
    const { slack, server, post, ask, close } = await withSlack(configFrom(raw))
    try {
      const { reply, asked } = await ask('U0ALICE', 'prod-db,dev-web 30m one incident, two tiers')
      expect(JSON.stringify(reply)).toContain('prod-db, dev-web')
      const store = server.plane.control.store
      expect(asked).toMatchObject({
        targets: ['prod-db', 'dev-web'],
        approvers: ['U0MANAGER1', 'U0MANAGER2'],
      })
      // Manager 1 approves prod-db only: dev-web still waits.
      await post(buttonBody('U0MANAGER1', ACTIONS.approve, asked.id, 'D0MANAGER1'))
      expect(await store.get(asked.id)).toMatchObject({
        status: 'PENDING',
        approvals: [{ by: 'U0MANAGER1' }],
      })
      expect(await untilTold(slack, 'U0MANAGER1', 'it needs 1 more for dev-web')).toContain(asked.id)
      // Manager 2 approves both targets: the grant is decided, and one policy covers both.
      await post(buttonBody('U0MANAGER2', ACTIONS.approve, asked.id, 'D0MANAGER2'))
      const active = await untilGrant(store, asked.id, (grant) => grant.status === 'ACTIVE', 5000)
      const policy = JSON.stringify(server.backend.policyOf(ALICE, grantPolicyName(active.id)))
      expect(policy).toContain('"ssm:resourceTag/access-target":"prod-db"')
      expect(policy).toContain('"ssm:resourceTag/access-target":"dev-web"')
      // An access to either target's instance is covered by it.
      const devWeb = server.backend.instances.find((instance) => instance.tags['access-target'] === 'dev-web')
      const verdict = await server.alerts.handle(
        access(
          startSession({
            eventID: 'f1000000-0000-4000-8000-000000000001',
            eventTime: new Date().toISOString(),
            awsRegion: devWeb?.region,
            requestParameters: { target: devWeb?.instanceId },
          }),
        ),
      )
      expect(verdict.verdict).toMatchObject({ target: 'dev-web', grantId: active.id, findings: [] })
      // One revoke ends the whole grant.
      await revokeGrant(server.plane.control, active.id, { kind: 'slack', id: 'U0ALICE' }, 'done')
      await untilGrant(store, active.id, (grant) => grant.status === 'REVOKED', 5000)
      expect(server.backend.policyOf(ALICE, grantPolicyName(active.id))).toBeUndefined()
    } finally {
      await close()
    }
  })
})
