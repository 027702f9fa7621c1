import type { Notice, Notifier } from './notifier.ts'

/**
 * A notifier that writes each notice as one structured log line. It stands in until the Slack
 * notifier is configured, and is what the local control plane uses without a Slack token.
 */
export class LogNotifier implements Notifier {
  readonly #log: (message: string, details: Record<string, unknown>) => void

  constructor(log: (message: string, details: Record<string, unknown>) => void) {
    this.#log = log
  }

  async send(notice: Notice): Promise<void> {
    const { kind, ...rest } = notice
    const grant = 'grant' in rest ? rest.grant : undefined
    this.#log(`notice: ${kind}`, {
      kind,
      ...(grant
        ? { grantId: grant.id, status: grant.status, target: grant.target, requester: grant.requester }
        : {}),
      ...('instructions' in rest ? { instructions: rest.instructions } : {}),
      ...('reason' in rest ? { reason: rest.reason } : {}),
      ...('findings' in rest ? { findings: rest.findings } : {}),
      ...('sessionsTerminated' in rest ? { sessionsTerminated: rest.sessionsTerminated } : {}),
    })
  }
}
