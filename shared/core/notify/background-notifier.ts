import type { Warn } from '../log.ts'
import type { Notice, Notifier } from './notifier.ts'

/**
 * Sends notices in the background: `send` returns at once and the work goes on after the
 * caller has answered. What the local control plane uses for Slack follow-ups, as Lambda uses
 * another invocation; `idle()` waits for everything sent so far, so a stop loses nothing.
 */
export class BackgroundNotifier implements Notifier {
  readonly #inner: Notifier
  readonly #warn: Warn
  readonly #running = new Set<Promise<void>>()

  constructor(inner: Notifier, warn: Warn) {
    this.#inner = inner
    this.#warn = warn
  }

  async send(notice: Notice): Promise<void> {
    const running = this.#inner
      .send(notice)
      .catch((error: unknown) => this.#warn('background notice failed', { kind: notice.kind, error }))
      .finally(() => this.#running.delete(running))
    this.#running.add(running)
  }

  /** Resolves once every notice sent so far has been handled, including those they led to. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running)
  }
}
