/**
 * The custom metrics the functions publish, named once: the functions publish them and the
 * alarms in infra/operations.ts watch them, with the same namespace and dimensions.
 */
export const KEYLESS_METRICS = {
  namespace: 'keyless',
  /** Powertools' default dimension on every metric it publishes. */
  service: 'keyless',
  /** Repairs a reconciler run made (published only when it made some). */
  reconcilerRepairs: 'ReconcilerRepairs',
  /** keyless's heartbeats the alert function received: the CloudTrail path is alive (AlertPathSilent). */
  heartbeatsSeen: 'HeartbeatsSeen',
  /** Function failures, counted by a metric filter on each function's log group (no dimension). */
  functionErrors: 'FunctionErrors',
} as const
