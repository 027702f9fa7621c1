import { GLOBAL_EVENTS_REGION, memberAccountRegions } from '../aws/regions.ts'
import { addSeconds, type Clock, isoSeconds } from '../clock.ts'
import type { KeylessConfig } from '../config/schema.ts'
import type { Warn } from '../log.ts'
import type { Notifier } from '../notify/notifier.ts'

/**
 * The heartbeat proves the whole path an alert takes — CloudTrail records a call, EventBridge
 * matches it (and forwards it, from another region or account), the alert function judges it —
 * alive, not just its parts. Every reconciler run writes the heartbeat parameter
 * (`HEARTBEAT_PARAMETER`, a harmless call the alert rules also match) in every watched account
 * and region; the alert function records each heartbeat it receives from keyless, by path. When none has
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

/**
 * One path alerts take: an account and region whose CloudTrail events reach the alert function
 * (the home region's directly, every other region's and member account's through a forwarding
 * rule there). A rule disabled in one of them blinds only that one, and its own DisableRule event
 * with it: each path has a heartbeat of its own.
 */
export interface HeartbeatPath {
  account: string
  region: string
}

export const describePath = (path: HeartbeatPath): string => `account ${path.account}, ${path.region}`

/**
 * Every path a deployment of `config` watches: the home account in each configured region and
 * the global-events region (its satellites forward from there); each member account in every
 * region its StackSet deploys to.
 */
export function watchedPaths(config: KeylessConfig): HeartbeatPath[] {
  const home = [...new Set([config.region, ...config.regions, GLOBAL_EVENTS_REGION[config.partition]])]
  const memberRegions = memberAccountRegions(config)
  return [
    ...home.map((region) => ({ account: config.account, region })),
    ...[...config.accounts.values()].flatMap((member) =>
      memberRegions.map((region) => ({ account: member.id, region })),
    ),
  ]
}

/** Where heartbeats are recorded by the alert function, and watched by the reconciler, per path. */
export interface Heartbeats {
  /** A heartbeat arrived on `path`, recorded at CloudTrail's time for it; an older one changes nothing. */
  seen(path: HeartbeatPath, at: string): Promise<void>
  read(path: HeartbeatPath): Promise<HeartbeatState>
  /** The watcher's own notes on `path`. */
  note(
    path: HeartbeatPath,
    change: { watchingSince?: string; silenceReportedAt?: string | null },
  ): Promise<void>
}

export interface HeartbeatDeps {
  heartbeats: Heartbeats
  /** Every path the config's deployment watches. */
  paths: HeartbeatPath[]
  /** Makes the call CloudTrail records as a heartbeat on `path`. */
  beat: (path: HeartbeatPath, at: Date) => Promise<void>
  notifier: Notifier
  clock: Clock
  warn: Warn
}

export type HeartbeatVerdict = 'alive' | 'silent' | 'silence-reported' | 'back'

/**
 * One reconciler run's part: send a heartbeat on every path, then judge each by what has arrived.
 * A heartbeat that cannot be sent is a warning (the silence it leaves is reported in its turn).
 * A report is noted only once it was posted, so a Slack failure is tried again next run; one
 * path's failure does not stop the others being watched.
 */
export async function beatAndWatch(
  deps: HeartbeatDeps,
): Promise<{ path: HeartbeatPath; verdict: HeartbeatVerdict }[]> {
  const now = deps.clock.now()
  for (const path of deps.paths) {
    try {
      await deps.beat(path, now)
    } catch (error) {
      deps.warn('could not send the heartbeat', { path: describePath(path), error })
    }
  }
  const verdicts: { path: HeartbeatPath; verdict: HeartbeatVerdict }[] = []
  let failure: unknown
  for (const path of deps.paths) {
    try {
      verdicts.push({ path, verdict: await watch(deps, path, now) })
    } catch (error) {
      failure ??= error
    }
  }
  if (failure) throw failure
  return verdicts
}

async function watch(deps: HeartbeatDeps, path: HeartbeatPath, now: Date): Promise<HeartbeatVerdict> {
  const state = await deps.heartbeats.read(path)
  const watchingSince = state.watchingSince ?? isoSeconds(now)
  if (!state.watchingSince) await deps.heartbeats.note(path, { watchingSince })
  const since = state.lastSeenAt ?? watchingSince
  const where = describePath(path)
  const silent = addSeconds(since, HEARTBEAT_SILENCE_SECONDS).getTime() <= now.getTime()
  if (silent) {
    if (state.silenceReportedAt) return 'silence-reported'
    await deps.notifier.send({
      kind: 'alert-path',
      state: 'silent',
      lastSeenAt: state.lastSeenAt,
      since,
      path: where,
    })
    await deps.heartbeats.note(path, { silenceReportedAt: isoSeconds(now) })
    return 'silent'
  }
  if (state.silenceReportedAt) {
    await deps.notifier.send({
      kind: 'alert-path',
      state: 'back',
      lastSeenAt: state.lastSeenAt,
      since: state.silenceReportedAt,
      path: where,
    })
    await deps.heartbeats.note(path, { silenceReportedAt: null })
    return 'back'
  }
  return 'alive'
}
