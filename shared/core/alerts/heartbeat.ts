import { addSeconds, type Clock, isoSeconds } from '../clock.ts'
import type { Warn } from '../log.ts'
import type { Notifier } from '../notify/notifier.ts'

/**
 * The heartbeat proves the whole path an alert takes — CloudTrail records a call, EventBridge
 * matches it, the alert function judges it — alive, not just its parts. Every reconciler run
 * writes the heartbeat parameter (`HEARTBEAT_PARAMETER`, a harmless call the alert rule also
 * matches); the alert function records each heartbeat it receives from keyless. When none has
 * arrived for HEARTBEAT_SILENCE_SECONDS the security channel is told once, and once more when
 * heartbeats arrive again. (An alarm on the function's heartbeat metric says the same without
 * the reconciler: infra/operations.ts.)
 */

/** CloudTrail delivers within about 15 minutes; twice that without a heartbeat is an outage. */
export const HEARTBEAT_SILENCE_SECONDS = 30 * 60

export interface HeartbeatState {
  /** CloudTrail's time of the latest heartbeat the alert function received. */
  lastSeenAt: string | null
  /** When the reconciler began sending heartbeats: silence is counted from here until the first arrives. */
  watchingSince: string | null
  /** When the silence now going on was reported (null: none is). */
  silenceReportedAt: string | null
}

/** Where heartbeats are recorded by the alert function, and watched by the reconciler. */
export interface Heartbeats {
  /** A heartbeat arrived, recorded at CloudTrail's time for it; an older one changes nothing. */
  seen(at: string): Promise<void>
  read(): Promise<HeartbeatState>
  /** The watcher's own notes. */
  note(change: { watchingSince?: string; silenceReportedAt?: string | null }): Promise<void>
}

export interface HeartbeatDeps {
  heartbeats: Heartbeats
  /** Makes the call CloudTrail records as a heartbeat. */
  beat: (at: Date) => Promise<void>
  notifier: Notifier
  clock: Clock
  warn: Warn
}

export type HeartbeatVerdict = 'alive' | 'silent' | 'silence-reported' | 'back'

/**
 * One reconciler run's part: send a heartbeat, then judge the path by what has arrived. A
 * heartbeat that cannot be sent is a warning (the silence it leaves is reported in its turn).
 * The report is noted only once it was posted, so a Slack failure is tried again next run.
 */
export async function beatAndWatch(deps: HeartbeatDeps): Promise<HeartbeatVerdict> {
  const now = deps.clock.now()
  try {
    await deps.beat(now)
  } catch (error) {
    deps.warn('could not send the heartbeat', { error })
  }
  const state = await deps.heartbeats.read()
  const watchingSince = state.watchingSince ?? isoSeconds(now)
  if (!state.watchingSince) await deps.heartbeats.note({ watchingSince })
  const since = state.lastSeenAt ?? watchingSince
  const silent = addSeconds(since, HEARTBEAT_SILENCE_SECONDS).getTime() <= now.getTime()
  if (silent) {
    if (state.silenceReportedAt) return 'silence-reported'
    await deps.notifier.send({ kind: 'alert-path', state: 'silent', lastSeenAt: state.lastSeenAt, since })
    await deps.heartbeats.note({ silenceReportedAt: isoSeconds(now) })
    return 'silent'
  }
  if (state.silenceReportedAt) {
    await deps.notifier.send({
      kind: 'alert-path',
      state: 'back',
      lastSeenAt: state.lastSeenAt,
      since: state.silenceReportedAt,
    })
    await deps.heartbeats.note({ silenceReportedAt: null })
    return 'back'
  }
  return 'alive'
}
