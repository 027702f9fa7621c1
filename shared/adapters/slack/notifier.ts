import type { Clock } from '../../core/clock.ts'
import type { KeylessConfig } from '../../core/config/schema.ts'
import type { Grant, SlackMessageRef } from '../../core/grants/grant.ts'
import { approversStillWaitedOn } from '../../core/grants/lifecycle.ts'
import type { GrantStore } from '../../core/grants/store.ts'
import type { Warn } from '../../core/log.ts'
import type { Notice, Notifier } from '../../core/notify/notifier.ts'
import type { SlackApi } from './api.ts'
import {
  accessActive,
  accessEnded,
  accessExtended,
  alertPathAlert,
  approvalCopy,
  approvalReminder,
  auditAlert,
  breakGlassAlert,
  doneReply,
  expiringSoon,
  type HomeContents,
  homeView,
  reconciledAlert,
  requestClosed,
  revocationFailedAlert,
  type SlackMessage,
} from './messages.ts'

export interface SlackNotifierDeps {
  config: KeylessConfig
  store: GrantStore
  slack: SlackApi
  clock: Clock
  warn: Warn
}

/** How many times copies and views are re-rendered when the grant changed while they were sent. */
const RENDER_PASSES = 3

/**
 * keyless's notices as Slack messages. People are Slack user ids from the config; nothing is
 * looked up by name or e-mail. Each Slack call stands alone: one that fails (rate limited past
 * the client's retries, `channel_not_found`, the network) is logged and the rest still go, and
 * `send` never throws for it, because no message is worth holding up access or its removal.
 *
 * Copies of approval messages and App Home views always show the grant as it is now: they are
 * rendered from a fresh read, and rendered again if the grant changed while they were sent, so
 * two updates racing each other cannot leave an older state showing.
 */
export class SlackNotifier implements Notifier {
  readonly #deps: SlackNotifierDeps

  constructor(deps: SlackNotifierDeps) {
    this.#deps = deps
  }

  async send(notice: Notice): Promise<void> {
    const { config } = this.#deps
    switch (notice.kind) {
      case 'approval-requested':
        await this.#ask(notice.grant, { asks: 'request' })
        return this.#refreshHomes(involved(notice.grant))
      case 'extension-requested':
        await this.#ask(notice.grant, {
          asks: 'extension',
          extensionRequestedAt: notice.grant.extension?.requestedAt,
        })
        return this.#refreshHomes(involved(notice.grant))
      case 'approval-reminder': {
        for (const approver of approversStillWaitedOn(notice.grant)) {
          await this.#post('approval reminder', approver, approvalReminder(notice.grant))
        }
        return
      }
      case 'grant-updated':
        return this.#refreshGrant(notice.grant)
      case 'expiring-soon':
        await this.#post(
          'expiry warning',
          notice.grant.requester,
          expiringSoon(notice.grant, this.#deps.clock.now()),
        )
        return
      case 'access-active':
        await this.#post(
          'access active',
          notice.grant.requester,
          accessActive(notice.grant, notice.instructions),
        )
        if (notice.grant.breakGlass) {
          await this.#post('break-glass alert', config.slack.securityChannel, breakGlassAlert(notice.grant))
        } else if (notice.grant.autoApprove && config.slack.approvalChannel) {
          // Granted without anyone deciding, still announced where requests are seen (once).
          await this.#ask(notice.grant, { asks: 'request' }, [undefined])
        }
        return this.#refreshGrant(notice.grant)
      case 'access-extended':
        await this.#post('access extended', notice.grant.requester, accessExtended(notice.grant))
        return this.#refreshGrant(notice.grant)
      case 'access-ended':
        await this.#post(
          'access ended',
          notice.grant.requester,
          accessEnded(notice.grant, notice.sessionsTerminated),
        )
        return this.#refreshGrant(notice.grant)
      case 'request-closed':
        await this.#post('request closed', notice.grant.requester, requestClosed(notice.grant, notice.reason))
        return this.#refreshGrant(notice.grant)
      case 'revocation-failed':
        // A security alert: a failure is the caller's to retry, not a warning to pass over.
        await this.#deps.slack.postMessage(
          config.slack.securityChannel,
          revocationFailedAlert(notice.grant, notice.reason),
        )
        return this.#refreshGrant(notice.grant)
      case 'reconciled':
        await this.#post('reconciler report', config.slack.securityChannel, reconciledAlert(notice.findings))
        return
      case 'alert-path':
        // A failure is the caller's to retry: the silence is noted only once it was told.
        await this.#deps.slack.postMessage(config.slack.securityChannel, alertPathAlert(notice))
        return
      case 'audit-changed':
        // Likewise: the audit is saved only once its changes were told.
        await this.#deps.slack.postMessage(config.slack.securityChannel, auditAlert(notice.changes))
        return
      case 'reply':
        await this.#attempt('reply', () =>
          notice.channel
            ? this.#deps.slack.postEphemeral(notice.channel, notice.user, doneReply(notice.text))
            : this.#deps.slack.postMessage(notice.user, doneReply(notice.text)),
        )
        return
      case 'home-opened':
        return this.#refreshHomes([notice.user])
    }
  }

  /**
   * Sends the approval message to every approver and the approval channel that has no copy of
   * it yet (a retried task sends nothing twice), remembering each copy as soon as it is sent.
   * An auto-approved grant's copy goes to the approval channel only, showing it granted.
   */
  async #ask(
    grant: Grant,
    asks: Pick<SlackMessageRef, 'asks' | 'extensionRequestedAt'>,
    only?: (string | undefined)[],
  ): Promise<void> {
    const { config, store, slack } = this.#deps
    const current = (await store.get(grant.id)) ?? grant
    const sent = new Set(
      (current.slackMessages ?? [])
        .filter((ref) => ref.asks === asks.asks && ref.extensionRequestedAt === asks.extensionRequestedAt)
        .map((ref) => ref.to ?? 'channel'),
    )
    // Each approver and the approval channel (undefined), unless `only` names fewer.
    const recipients: (string | undefined)[] = only ?? [
      ...current.approvers,
      ...(config.slack.approvalChannel ? [undefined] : []),
    ]
    const message = approvalCopy(current, asks, config.targets.get(current.target))
    for (const to of recipients) {
      if (sent.has(to ?? 'channel')) continue
      await this.#attempt('approval message', async () => {
        const where = await slack.postMessage(to ?? config.slack.approvalChannel ?? '', message)
        const ref: SlackMessageRef = {
          ...where,
          asks: asks.asks,
          ...(asks.extensionRequestedAt ? { extensionRequestedAt: asks.extensionRequestedAt } : {}),
          ...(to ? { to } : {}),
        }
        await store.addSlackMessages(current.id, [ref])
      })
    }
  }

  /** Every copy of the grant's approval messages, and the App Home of everyone it concerns. */
  async #refreshGrant(grant: Grant): Promise<void> {
    const { store, slack, config } = this.#deps
    let shown: Grant | undefined
    for (let pass = 0; pass < RENDER_PASSES; pass++) {
      const current = await store.get(grant.id)
      if (!current || current.version === shown?.version) break
      const target = config.targets.get(current.target)
      for (const ref of current.slackMessages ?? []) {
        await this.#attempt('approval message update', () =>
          slack.updateMessage(ref, approvalCopy(current, ref, target)),
        )
      }
      shown = current
    }
    await this.#refreshHomes(involved(grant))
  }

  async #refreshHomes(users: string[]): Promise<void> {
    for (const user of users) {
      // An empty Home is published too: it replaces one still showing a decided request.
      let shown: string | undefined
      for (let pass = 0; pass < RENDER_PASSES; pass++) {
        const contents = await this.#homeContents(user)
        const fingerprint = [...contents.active, ...contents.pending, ...contents.waiting]
          .map((grant) => `${grant.id}@${grant.version}`)
          .join(',')
        if (fingerprint === shown) break
        await this.#attempt('App Home', () =>
          this.#deps.slack.publishHome(user, homeView(contents, this.#deps.clock.now())),
        )
        shown = fingerprint
      }
    }
  }

  async #homeContents(user: string): Promise<HomeContents> {
    const { store, config } = this.#deps
    const [mine, awaiting] = await Promise.all([
      store.listByRequester(user, { limit: 50 }),
      store.listAwaitingDecisionBy(user),
    ])
    // What this person has decided already waits for someone else, not for them.
    const undecided = (grant: Grant) =>
      grant.status === 'PENDING'
        ? !grant.approvals.some((approval) => approval.by === user)
        : !grant.revocation && !grant.extension?.approvals.some((approval) => approval.by === user)
    return {
      user,
      known: config.people.has(user),
      active: mine.filter((grant) => grant.status === 'ACTIVE'),
      pending: mine.filter((grant) => grant.status === 'PENDING'),
      waiting: awaiting.filter(undecided),
    }
  }

  async #post(what: string, channel: string, message: SlackMessage): Promise<void> {
    await this.#attempt(what, () => this.#deps.slack.postMessage(channel, message))
  }

  async #attempt(what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call()
    } catch (error) {
      this.#deps.warn(`slack: ${what} failed`, { error: describeSlackError(error) })
    }
  }
}

/** Everyone whose App Home shows the grant. */
const involved = (grant: Grant): string[] => [...new Set([grant.requester, ...grant.approvers])]

/** A Slack error as one line: the API's error code where there is one (`channel_not_found`, `ratelimited`). */
export function describeSlackError(error: unknown): string {
  const { data, code, retryAfter } = (error ?? {}) as {
    data?: { error?: unknown }
    code?: unknown
    retryAfter?: unknown
  }
  if (data && typeof data.error === 'string') return data.error
  if (code === 'slack_webapi_rate_limited_error')
    return `ratelimited (Slack asks to retry after ${retryAfter}s)`
  return error instanceof Error ? error.message : String(error)
}
