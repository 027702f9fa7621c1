import type { Notice, Notifier } from '../../shared/notify/notifier.ts'

/** Records every notice; `failing` makes every send throw, as a Slack outage would. */
export class RecordingNotifier implements Notifier {
  readonly notices: Notice[] = []
  failing = false

  async send(notice: Notice): Promise<void> {
    if (this.failing) throw new Error('Slack is down (test)')
    this.notices.push(notice)
  }

  kinds(grantId?: string): string[] {
    return this.notices
      .filter((notice) => grantId === undefined || ('grant' in notice && notice.grant.id === grantId))
      .map((notice) => notice.kind)
  }
}
