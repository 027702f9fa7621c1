import { describe, expect, it } from 'vitest'
import {
  accessActive,
  accessEnded,
  alertPathAlert,
  approvalRequest,
  auditAlert,
  expiringSoon,
  extensionRequest,
  homeView,
  reconciledAlert,
  requestReply,
  securityAlert,
} from '../../shared/adapters/slack/messages.ts'
import { connectionInstructions } from '../../shared/core/access/instructions.ts'
import type { Verdict } from '../../shared/core/alerts/evaluate.ts'
import { addSeconds } from '../../shared/core/clock.ts'
import type { Grant, GrantSession } from '../../shared/core/grants/grant.ts'
import { configFrom, specConfig, specConfigObject } from '../kit/config.ts'
import {
  activeGrant,
  advance,
  alice,
  at,
  bob,
  manager1,
  manager2,
  pendingGrant,
  workflow,
} from '../kit/grants.ts'

/**
 * Every message keyless sends, built from fixed grants at fixed times and compared with the
 * golden files under test/golden/slack/ (Block Kit JSON, readable in Slack's Block Kit Builder).
 * A change to what people see shows up as a diff of these files.
 */

const config = specConfig()
// Grant ids derive from client tokens: each golden grant names its own, so its id is fixed.
const prodDb = config.targets.get('prod-db')
const golden = (name: string) => `../golden/slack/${name}.json`
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

describe('Slack messages (golden Block Kit JSON)', () => {
  it('the approval request, pending', async () => {
    const grant = pendingGrant(config, { clientToken: 'golden-1' })
    await expect(json(approvalRequest(grant, prodDb))).toMatchFileSnapshot(golden('approval-pending'))
  })

  it('the approval request over two targets, after one click that approved only the first', async () => {
    const raw = specConfigObject()
    raw.targets['dev-web'] = { access: ['shell'], approvers: ['U0MANAGER2'] }
    const twoTargets = configFrom(raw)
    const grant = advance(
      pendingGrant(twoTargets, { clientToken: 'golden-multi', targets: ['prod-db', 'dev-web'] }),
      [[{ type: 'approve' }, manager1, at(30)]],
    )
    expect(grant.status).toBe('PENDING')
    const message = approvalRequest(grant)
    expect(JSON.stringify(message)).toContain('waiting for 1 more for dev-web')
    await expect(json(message)).toMatchFileSnapshot(golden('approval-two-targets'))
  })

  it('the approval request with the first of two approvals: still open, the first shown', async () => {
    const grant = { ...pendingGrant(config, { clientToken: 'golden-2' }), requiredApprovals: 2 }
    const once = advance(grant, [[{ type: 'approve' }, manager1, at(20)]])
    const message = approvalRequest(once, prodDb)
    expect(JSON.stringify(message)).toContain('keyless.approve')
    await expect(json(message)).toMatchFileSnapshot(golden('approval-first-of-two'))
  })

  it('every copy after a decision: who decided what and when, no buttons', async () => {
    const approved = activeGrant(config, { clientToken: 'golden-3' })
    const denied = advance(pendingGrant(config, { clientToken: 'golden-4' }), [
      [{ type: 'deny', reason: 'not during the freeze' }, manager2, at(40)],
    ])
    const timedOut = advance(pendingGrant(config, { clientToken: 'golden-5' }), [
      [{ type: 'time-out' }, workflow, at(1800)],
    ])
    for (const grant of [approved, denied, timedOut]) {
      expect(JSON.stringify(approvalRequest(grant, prodDb))).not.toContain('keyless.approve')
    }
    await expect(json(approvalRequest(approved, prodDb))).toMatchFileSnapshot(golden('approval-approved'))
    await expect(json(approvalRequest(denied, prodDb))).toMatchFileSnapshot(golden('approval-denied'))
    await expect(json(approvalRequest(timedOut, prodDb))).toMatchFileSnapshot(golden('approval-timed-out'))
  })

  it('the extension request, and its copy once decided', async () => {
    const asked = advance(activeGrant(config, { clientToken: 'golden-6' }), [
      [{ type: 'request-extension', durationSeconds: 1800 }, alice, at(600)],
    ])
    const requestedAt = asked.extension?.requestedAt
    await expect(json(extensionRequest(asked, requestedAt))).toMatchFileSnapshot(golden('extension-pending'))
    const extended = advance(asked, [[{ type: 'approve-extension' }, manager1, at(700)]])
    const decided = extensionRequest(extended, requestedAt)
    expect(JSON.stringify(decided)).not.toContain('keyless.approve-extension')
    await expect(json(decided)).toMatchFileSnapshot(golden('extension-approved'))
  })

  it('to the requester: active (with the commands), expiring soon (with Extend), ended', async () => {
    const grant = activeGrant(config, { clientToken: 'golden-7' })
    const expiresAt = grant.expiresAt ?? ''
    const instructions = prodDb ? connectionInstructions(prodDb, config.regions, expiresAt) : []
    await expect(json(accessActive(grant, instructions))).toMatchFileSnapshot(golden('access-active'))
    const soon = expiringSoon(grant, addSeconds(expiresAt, -300))
    // 30 minutes of a 2-hour maximum used: every offered extension fits.
    expect(JSON.stringify(soon)).toContain('Extend +1h')
    await expect(json(soon)).toMatchFileSnapshot(golden('expiring-soon'))
    const ended: Grant = advance(grant, [[{ type: 'end' }, workflow, new Date(expiresAt)]])
    await expect(json(accessEnded(ended, 2))).toMatchFileSnapshot(golden('access-ended'))
  })

  it('ended, with the accesses CloudTrail recorded under the grant (the post-grant report)', async () => {
    const grant = activeGrant(config, { clientToken: 'golden-sessions' })
    const session = (seconds: number, overrides: Partial<GrantSession> = {}): GrantSession => ({
      at: at(seconds).toISOString(),
      eventName: 'StartSession',
      principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      instances: ['i-0123456789abcdef0'],
      sourceIPAddress: '203.0.113.10',
      mfa: true,
      rules: [],
      ...overrides,
    })
    const ended: Grant = {
      ...advance(grant, [[{ type: 'end' }, workflow, new Date(grant.expiresAt ?? '')]]),
      // Out of order, as events arrive: the report sorts them by time.
      sessions: {
        'e-2': session(900, {
          eventName: 'SendSSHPublicKey',
          sourceIPAddress: '198.51.100.7',
          mfa: false,
          rules: ['NO_MFA', 'UNEXPECTED_SOURCE_IP'],
        }),
        'e-1': session(120),
      },
    }
    await expect(json(accessEnded(ended, 0))).toMatchFileSnapshot(golden('access-ended-with-sessions'))

    // Ten accesses at most, each whole, and the count of the rest.
    const report = (sessions: Record<string, GrantSession>) => {
      const last = accessEnded({ ...ended, sessions }, 0).blocks?.at(-1)
      return last?.type === 'section' ? (last.text?.text ?? '') : ''
    }
    const many = report(Object.fromEntries(Array.from({ length: 12 }, (_, n) => [`e-${n}`, session(60 + n)])))
    expect(many.split('\n').filter((line) => line.startsWith('• '))).toHaveLength(10)
    expect(many.split('\n').at(-1)).toBe(`…and 2 more: \`keyless grants show ${grant.id}\``)
    // A SendCommand to a fleet names many instances: fewer lines then, never one cut short.
    const fleet = Array.from({ length: 20 }, (_, n) => `i-0123456789abcd${String(n).padStart(3, '0')}`)
    const wide = report(
      Object.fromEntries(
        Array.from({ length: 10 }, (_, n) => [
          `e-${n}`,
          session(60 + n, { eventName: 'SendCommand', instances: fleet }),
        ]),
      ),
    )
    expect(wide.length).toBeLessThanOrEqual(3000)
    const wideLines = wide.split('\n').filter((line) => line.startsWith('• '))
    expect(wideLines.length).toBeLessThan(10)
    for (const line of wideLines) expect(line).toContain('with MFA')
    expect(wide.split('\n').at(-1)).toBe(
      `…and ${10 - wideLines.length} more: \`keyless grants show ${grant.id}\``,
    )
  })

  it('a security alert: who, where, from where, MFA, the rules and what to do, the grant', async () => {
    const verdict: Verdict = {
      eventId: '11111111-2222-4333-8444-555555555555',
      eventName: 'StartSession',
      eventTime: '2026-11-23T10:05:00Z',
      account: '111122223333',
      region: 'eu-west-1',
      principal: 'arn:aws:sts::111122223333:assumed-role/alice-ops/alice',
      configuredPrincipal: 'arn:aws:iam::111122223333:role/alice-ops',
      people: ['U0ALICE'],
      target: 'prod-db',
      instances: ['i-0123456789abcdef0'],
      subject: null,
      sourceIPAddress: '198.51.100.7',
      mfa: false,
      denied: null,
      grantId: null,
      findings: [
        { rule: 'NO_MFA', severity: 'high', detail: 'StartSession by … without MFA', action: 'Require MFA.' },
        {
          rule: 'NO_ACTIVE_GRANT',
          severity: 'critical',
          detail: 'StartSession by <@U0EVERYONE> *bold* `code`',
          action: 'Find the policy that allowed it.',
        },
      ],
    }
    const alert = securityAlert(verdict)
    // Text from the record is data: it cannot mention anyone or close a code span.
    expect(JSON.stringify(alert)).not.toContain('<@U0EVERYONE>')
    await expect(json(alert)).toMatchFileSnapshot(golden('security-alert'))
  })

  it("a change to keyless's own pieces names what was changed; the alert path silent, and back", async () => {
    const tampered: Verdict = {
      eventId: 'a1b2c3d4-0001-4000-8000-000000000108',
      eventName: 'DisableRule',
      eventTime: '2026-11-23T10:12:41Z',
      account: '111122223333',
      region: 'eu-west-1',
      principal: 'arn:aws:sts::111122223333:assumed-role/admin/mallory',
      configuredPrincipal: null,
      people: [],
      target: null,
      instances: [],
      subject: 'keyless-watched-events',
      sourceIPAddress: '203.0.113.10',
      mfa: true,
      denied: null,
      grantId: null,
      findings: [
        {
          rule: 'KEYLESS_TAMPERED',
          severity: 'critical',
          detail:
            "DisableRule on keyless's keyless-watched-events by arn:aws:sts::111122223333:assumed-role/admin/mallory in eu-west-1",
          action: 'Find who, undo it.',
        },
      ],
    }
    await expect(json(securityAlert(tampered))).toMatchFileSnapshot(golden('security-alert-keyless-tampered'))
    const silent = alertPathAlert({
      kind: 'alert-path',
      state: 'silent',
      lastSeenAt: null,
      since: '2026-11-23T10:00:00Z',
      path: 'account 444455556666, eu-west-1',
    })
    expect(silent.text).toBe(
      'keyless alerts: no heartbeat through CloudTrail from account 444455556666, eu-west-1 for 30 minutes',
    )
    await expect(json(silent)).toMatchFileSnapshot(golden('alert-path-silent'))
    const back = alertPathAlert({
      kind: 'alert-path',
      state: 'back',
      lastSeenAt: '2026-11-23T10:41:00Z',
      since: '2026-11-23T10:30:00Z',
      path: 'account 444455556666, eu-west-1',
    })
    await expect(json(back)).toMatchFileSnapshot(golden('alert-path-back'))
  })

  it('the scheduled audit: holes opened and closed, an account it could not read', async () => {
    const hole = (principal: string, target: string) => ({
      principal: `arn:aws:iam::111122223333:${principal}`,
      account: '111122223333',
      target,
      kind: 'standing' as const,
      actions: ['ssm:StartSession', 'ssm:SendCommand'],
    })
    const alert = auditAlert({
      first: false,
      opened: [hole('role/contractor', 'prod-db')],
      closed: [hole('role/ops-admin', 'prod-db')],
      standing: 5,
      unaudited: [{ account: '444455556666', reason: 'AccessDenied on sts:AssumeRole' }],
      orphanGrantRoles: ['arn:aws:iam::111122223333:role/keyless/grant/U0GONE'],
    })
    expect(alert.text).toBe('keyless audit: 1 opened, 1 closed')
    await expect(json(alert)).toMatchFileSnapshot(golden('audit-changed'))
  })

  it('the scheduled audit of a bad week stays within what Slack takes, and counts what it leaves out', () => {
    const hole = (n: number) => ({
      principal: `arn:aws:iam::111122223333:role/platform/team-${n}/deployment-automation-${n}`,
      account: '111122223333',
      target: `target-${n % 7}`,
      kind: 'standing' as const,
      actions: ['ssm:StartSession', 'ssm:SendCommand', 'ec2-instance-connect:SendSerialConsoleSSHPublicKey'],
    })
    const opened = Array.from({ length: 400 }, (_, n) => hole(n))
    const alert = auditAlert({
      first: true,
      opened,
      closed: [],
      standing: 400,
      unaudited: Array.from({ length: 80 }, (_, n) => ({
        account: String(200000000000 + n),
        reason: `AccessDenied: not authorized to perform sts:AssumeRole on keyless-auditor ${'x'.repeat(n)}`,
      })),
      orphanGrantRoles: [],
    })
    const blocks = alert.blocks ?? []
    expect(blocks.length).toBeLessThanOrEqual(50)
    const texts = blocks.map((block) => JSON.stringify(block))
    for (const block of blocks) {
      if (block.type === 'section') expect(block.text?.text.length).toBeLessThanOrEqual(3000)
    }
    const found = blocks.find((block) => JSON.stringify(block).includes('*Found*'))
    const foundText = found?.type === 'section' ? (found.text?.text ?? '') : ''
    const listed = foundText.split('\n').filter((line) => line.startsWith('•')).length
    expect(listed).toBeGreaterThan(10)
    expect(foundText).toMatch(
      new RegExp(`…and ${400 - listed} more \\(keyless audit --json lists them\\)\\.$`),
    )
    expect(texts.join()).toMatch(/…and \d+ more accounts/)
  })

  it("the reconciler's report of a pass that repaired hundreds of things: whole lines, and the count of the rest", () => {
    const findings = Array.from({ length: 300 }, (_, n) => ({
      what: 'orphan-policy-removed' as const,
      principal: `arn:aws:iam::111122223333:role/platform/service-${n}`,
      policyName: `keyless-g-${String(n).padStart(10, '0')}`,
      detail: `no live grant names this policy; it was attached ${n} minutes after the grant ended ${'.'.repeat(200)}`,
    }))
    const [, list] = reconciledAlert(findings).blocks ?? []
    const text = list?.type === 'section' ? (list.text?.text ?? '') : ''
    expect(text.length).toBeLessThanOrEqual(3000)
    const lines = text.split('\n')
    const shown = lines.filter((line) => line.startsWith('• '))
    expect(shown.length).toBeGreaterThan(3)
    for (const line of shown) expect(line).toMatch(/\.{200}$/) // none cut short
    expect(lines.at(-1)).toBe(`…and ${300 - shown.length} more (see the reconciler's log).`)
  })

  it('offers only the extensions that still fit under the maximum', () => {
    const grant = advance(activeGrant(config, { clientToken: 'golden-8' }), [
      [{ type: 'request-extension', durationSeconds: 4800 }, alice, at(600)],
      [{ type: 'approve-extension' }, bob, at(610)],
    ])
    // 30m + 80m of 120m: 10 minutes left to offer, under the smallest choice.
    const text = JSON.stringify(expiringSoon(grant, at(60)))
    expect(text).not.toContain('Extend +')
    expect(text).toContain('leaves no room to extend')
  })

  it('the reply to /access and the App Home view', async () => {
    await expect(
      json(requestReply(pendingGrant(config, { clientToken: 'golden-9' }), true)),
    ).toMatchFileSnapshot(golden('reply-requested'))
    const waiting = pendingGrant(config, { clientToken: 'golden-10' })
    const home = homeView(
      { user: 'U0MANAGER1', known: false, active: [], pending: [], waiting: [waiting] },
      at(60),
    )
    await expect(json(home)).toMatchFileSnapshot(golden('home-approver'))
    const mine = homeView(
      {
        user: 'U0ALICE',
        known: true,
        active: [activeGrant(config, { clientToken: 'golden-11' })],
        pending: [pendingGrant(config, { clientToken: 'golden-12' })],
        waiting: [],
      },
      at(600),
    )
    await expect(json(mine)).toMatchFileSnapshot(golden('home-requester'))
  })
})
