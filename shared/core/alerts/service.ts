import { addSeconds, type Clock } from '../clock.ts'
import type { GrantSession } from '../grants/grant.ts'
import type { GrantStore } from '../grants/store.ts'
import type { Warn } from '../log.ts'
import { type EvaluationContext, evaluate, type Verdict } from './evaluate.ts'
import type { Heartbeats } from './heartbeat.ts'
import type { AccessEvent } from './record.ts'
import type { StoredVerdict, VerdictStore } from './verdicts.ts'

/**
 * Where security alerts are posted: the security channel, as the Slack adapter renders and sends
 * them (adapters/slack/security-channel.ts).
 */
export interface SecurityChannel {
  /**
   * Posts the alert of `verdict`. Rejects with an UnconfirmedPostError when the post may have
   * arrived although no answer came (the sender then must not post it again at once); with any
   * other error when it certainly did not.
   */
  post(verdict: StoredVerdict): Promise<{ channel: string; ts: string }>
}

/** A post whose answer never came: it may have arrived. */
export class UnconfirmedPostError extends Error {
  override name = 'UnconfirmedPost'
}

/** What posting alerts needs: the verdicts and the security channel. */
export interface AlertSenderDeps {
  verdicts: VerdictStore
  securityChannel: SecurityChannel
  clock: Clock
  warn: Warn
}

export interface AlertDeps extends AlertSenderDeps {
  context: EvaluationContext
  grants: Pick<GrantStore, 'recordSession'>
  /** Where keyless's heartbeats are recorded (deployed only: locally nothing sends them). */
  heartbeats?: Pick<Heartbeats, 'seen'>
}

/**
 * What became of an event's alert: none due, posted now, left unsent (Slack failed), posted
 * before, or being posted by another sender right now.
 */
export type AlertOutcome = 'none' | 'posted' | 'unsent' | 'already-posted' | 'in-progress'

/** How long a sender holds an alert it is posting before another may take it over. */
const CLAIM_SECONDS = 60
/** How often a warm function looks for alerts an earlier invocation could not post. */
const SWEEP_EVERY_SECONDS = 60
/** The most earlier alerts one sweep posts: a backlog drains over several invocations, none waits long. */
const SWEEP_LIMIT = 10

/**
 * The alert function's work for one watched event: the verdict, stored once per CloudTrail
 * eventID (an access always, anything else when it alerts); an access linked to the grant that
 * covered it; one alert to the security channel when a rule fired. A redelivered event finds its verdict and posts nothing again. A Slack
 * failure leaves the alert stored unsent; the next invocation's sweep (or the reconciler's)
 * posts it. Alerts go to the security channel only, never to the person who acted.
 */
export class AlertService {
  readonly #deps: AlertDeps
  readonly sender: AlertSender

  constructor(deps: AlertDeps) {
    this.#deps = deps
    this.sender = new AlertSender(deps)
  }

  async handle(
    event: AccessEvent,
  ): Promise<{ verdict: StoredVerdict; alert: AlertOutcome; heartbeat?: true }> {
    const { verdicts, clock } = this.#deps
    const now = clock.now()
    const verdict = await evaluate(event, this.#deps.context)
    // keyless's own heartbeat (one written by anyone else is KEYLESS_TAMPERED, and alerts).
    const heartbeat = event.kind === 'heartbeat' && verdict.findings.length === 0
    if (heartbeat && event.account && event.region) {
      await this.#deps.heartbeats?.seen({ account: event.account, region: event.region }, event.eventTime)
    }
    // Only an access is kept whatever its verdict (it is linked to its grant, and shown as the
    // grant's session); any other watched event is kept only when it alerts — keyless's own
    // writes to its grant roles, and its heartbeats, need no record.
    if (event.kind !== 'session' && verdict.findings.length === 0) {
      return {
        verdict: { ...verdict, recordedAt: now.toISOString(), alert: 'none', attempts: 0 },
        alert: 'none',
        ...(heartbeat ? { heartbeat } : {}),
      }
    }
    // A redelivery gets the verdict first stored: judged once, at the first delivery.
    const { stored, created } = await verdicts.record(verdict, now, addSeconds(now, CLAIM_SECONDS))
    // Linking is keyed by eventID, so doing it again on a redelivery is harmless (and repairs a
    // first delivery that stopped before it).
    if (stored.grantId) {
      await this.#deps.grants.recordSession(stored.grantId, stored.eventId, sessionOf(stored))
    }
    let alert: AlertOutcome
    if (stored.alert === 'none') alert = 'none'
    else if (stored.alert === 'sent') alert = 'already-posted'
    else if (created) alert = await this.sender.post(stored)
    else alert = await this.sender.claimAndPost(stored.eventId)
    return { verdict: stored, alert }
  }
}

/**
 * Posts security alerts, each once: a sender claims an alert (a conditional write) before it
 * posts, so two senders never post the same one, and marks it sent after.
 */
export class AlertSender {
  readonly #deps: AlertSenderDeps
  #nextSweep = 0

  constructor(deps: AlertSenderDeps) {
    this.#deps = deps
  }

  /** Posts alerts left unsent by earlier failures, oldest first, until one fails. */
  async sendUnsent(limit = SWEEP_LIMIT): Promise<{ posted: number; left: boolean }> {
    let posted = 0
    for (const unsent of await this.#deps.verdicts.listUnsent(limit)) {
      const outcome = await this.claimAndPost(unsent.eventId)
      if (outcome === 'unsent') return { posted, left: true }
      if (outcome === 'posted') posted += 1
    }
    return { posted, left: false }
  }

  /** sendUnsent, at most once a minute per warm function: the request path pays for it rarely. */
  async sweepIfDue(): Promise<void> {
    const now = this.#deps.clock.now().getTime()
    if (now < this.#nextSweep) return
    this.#nextSweep = now + SWEEP_EVERY_SECONDS * 1000
    await this.sendUnsent()
  }

  /** Posts the alert of `eventId` unless another sender holds it or it was posted meanwhile. */
  async claimAndPost(eventId: string): Promise<AlertOutcome> {
    const now = this.#deps.clock.now()
    const claimed = await this.#deps.verdicts.claim(eventId, now, addSeconds(now, CLAIM_SECONDS))
    if (claimed) return this.post(claimed)
    return (await this.#deps.verdicts.get(eventId))?.alert === 'sent' ? 'already-posted' : 'in-progress'
  }

  /** Posts a claimed alert. */
  async post(verdict: StoredVerdict): Promise<AlertOutcome> {
    const { securityChannel, verdicts, clock } = this.#deps
    let posted: { channel: string; ts: string }
    try {
      posted = await securityChannel.post(verdict)
    } catch (error) {
      // Slack may have posted a message it did not confirm: hold the claim until it runs out,
      // so no sender posts it again at once; one Slack refused is given back for the next.
      const unconfirmed = error instanceof UnconfirmedPostError
      const reason = error instanceof Error ? error.message : String(error)
      this.#deps.warn('security alert not posted; it stays unsent for the next sweep', {
        eventId: verdict.eventId,
        rules: verdict.findings.map((finding) => finding.rule),
        error: reason,
        ...(unconfirmed ? { retryAfter: verdict.claimedUntil } : {}),
      })
      await verdicts.release(verdict.eventId, reason, { keepClaim: unconfirmed })
      return 'unsent'
    }
    // Should this write fail, the claim runs out and the alert is posted again: at least once.
    await verdicts.markSent(verdict.eventId, posted, clock.now())
    return 'posted'
  }
}

function sessionOf(verdict: Verdict): GrantSession {
  return {
    at: verdict.eventTime,
    eventName: verdict.eventName,
    principal: verdict.principal ?? verdict.configuredPrincipal ?? 'unknown',
    instances: verdict.instances,
    sourceIPAddress: verdict.sourceIPAddress,
    mfa: verdict.mfa,
    rules: verdict.findings.map((finding) => finding.rule),
  }
}
