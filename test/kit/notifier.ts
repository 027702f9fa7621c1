import type { Notice, Notifier } from '../../shared/core/notify/notifier.ts'

/** Records every notice; `failing` makes every send throw, as a Slack outage would. */
export class RecordingNotifier implements Notifier {
  readonly notices: Notice[] = []
  failing = false
  readonly #refusals = new Map<Notice['kind'], number>()

  /** The next `times` notices of `kind` fail, as Slack refusing a post would. */
  refuse(kind: Notice['kind'], times: number): void {
    this.#refusals.set(kind, times)
  }

  async send(notice: Notice): Promise<void> {
    if (this.failing) throw new Error('Slack is down (test)')
    const refusals = this.#refusals.get(notice.kind) ?? 0
    if (refusals > 0) {
      this.#refusals.set(notice.kind, refusals - 1)
      throw new Error(`Slack refused ${notice.kind} (test)`)
    }
    this.notices.push(notice)
  }

  kinds(grantId?: string): string[] {
    return this.notices
      .filter((notice) => grantId === undefined || ('grant' in notice && notice.grant.id === grantId))
      .map((notice) => notice.kind)
  }
}
