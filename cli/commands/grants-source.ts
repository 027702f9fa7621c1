import type { Grant } from '../../shared/core/grants/grant.ts'
import type { DoctorReport, TargetRevocation } from '../../shared/core/grants/operations.ts'

/** The options of `keyless grants …` and `keyless doctor`, and where they act: the local plane or a deployed table. */

export interface GrantsOptions {
  table?: string
  region?: string
  json?: boolean
  all?: boolean
  reason?: string
  target?: string
  /** The deployed plane's config (targets, regions, people), for --table operations that need it. */
  config?: string
  /** The deployed grant workflow (the stack's StateMachineArn), for the doctor's execution check. */
  stateMachine?: string
  /** The deployed home stack: the doctor reads its outputs and checks the deployment end to end. */
  stack?: string
}

/** Where grants are read and revoked: the local control plane, or a deployed table. */
export interface GrantsSource {
  list(all: boolean): Promise<Grant[]>
  show(id: string): Promise<Grant | undefined>
  revoke(id: string, reason: string | undefined): Promise<Grant>
  /** Denies one pending request, recorded with the operator as the actor. */
  deny(id: string, reason: string | undefined): Promise<Grant>
  revokeTarget(target: string, reason: string): Promise<TargetRevocation[]>
  doctor(): Promise<DoctorReport>
}
