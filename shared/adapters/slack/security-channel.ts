import type { SecurityChannel } from '../../core/alerts/service.ts'
import { UnconfirmedPostError } from '../../core/alerts/service.ts'
import type { StoredVerdict } from '../../core/alerts/verdicts.ts'
import type { SlackApi } from './api.ts'
import { mayHaveArrived } from './budget.ts'
import { securityAlert } from './messages.ts'
import { describeSlackError } from './notifier.ts'

/** Security alerts as Block Kit messages in the security channel, through Slack's Web API. */
export class SlackSecurityChannel implements SecurityChannel {
  readonly #slack: SlackApi
  readonly #channel: string

  constructor(slack: SlackApi, channel: string) {
    this.#slack = slack
    this.#channel = channel
  }

  async post(verdict: StoredVerdict): Promise<{ channel: string; ts: string }> {
    try {
      return await this.#slack.postMessage(this.#channel, securityAlert(verdict))
    } catch (error) {
      // Slack's own error code where there is one (`channel_not_found`), never a stack.
      const reason = describeSlackError(error)
      throw mayHaveArrived(error)
        ? new UnconfirmedPostError(reason, { cause: error })
        : new Error(reason, { cause: error })
    }
  }
}
