import { addSeconds, isoSeconds } from '../clock.ts'
import { formatDuration } from '../config/duration.ts'
import { checkWithinMaximum, findTarget } from '../config/lookup.ts'
import { isUserGroup, type KeylessConfig, type TargetConfig } from '../config/schema.ts'
import { KeylessError } from '../errors.ts'
import { policyForGrant } from '../policy/grant-policy.ts'
import { placeGrant } from '../policy/placement.ts'
import { GrantError } from './errors.ts'
import {
  ACCESS_STATUSES,
  type Actor,
  describeActor,
  type Grant,
  type GrantAction,
  type GrantStatus,
  grantIdFor,
  grantTargets,
  type HistoryEntry,
} from './grant.ts'

/**
 * The grant rules as pure functions: who may do what to a grant in which state. Nothing here
 * reads a clock, a store or a network; callers pass `now` and persist what comes back.
 */

export const MAX_REASON_LENGTH = 500

export interface GrantRequest {
  clientToken: string
  /** The target, or with several the first of them. */
  target: string
  /** Every target, when the request names several (`/access prod-db,prod-cache …`). */
  targets?: string[]
  requester: string
  durationSeconds: number
  reason: string
  breakGlass?: boolean
}

/**
 * Builds a new grant from a request, or refuses it. Auto-approve and break-glass start APPROVED.
 * `groupMembers` holds the members of the Slack user groups among the target's approvers, read
 * for this request: the grant's approvers are fixed from them, as people.
 */
export function requestGrant(
  request: GrantRequest,
  config: KeylessConfig,
  now: Date,
  groupMembers: ReadonlyMap<string, readonly string[]> = new Map(),
): Grant {
  const names = [...new Set(request.targets ?? [request.target])]
  if (names.length > config.requests.maxTargets) {
    throw new GrantError(
      'INVALID_REQUEST',
      `A request may name at most ${config.requests.maxTargets} targets (requests.maxTargets); this one names ${names.length}.`,
    )
  }
  const targets = names.map((name) => findTarget(config, name))
  const person = config.people.get(request.requester)
  if (!person) {
    throw new GrantError(
      'UNKNOWN_PERSON',
      `<@${request.requester}> is not among the keyless config's people (people.${request.requester}: an AWS principal or an Identity Center user); ask an admin to add you.`,
    )
  }
  // Per account: the person's own principal when it lives there, else their grant role there;
  // one policy each, over that account's targets.
  const byAccount = new Map<string, { account: string; principal: string; targets: string[] }>()
  for (const target of targets) {
    const placement = placeGrant(config, person, target)
    const existing = byAccount.get(placement.account.id)
    if (existing) existing.targets.push(target.name)
    else
      byAccount.set(placement.account.id, {
        account: placement.account.id,
        principal: placement.principal,
        targets: [target.name],
      })
  }
  const placements = [...byAccount.values()]
  const principal = placements[0]?.principal ?? ''
  // The smallest maximum rules: checked smallest first, so a refusal names the target whose limit it is.
  for (const target of [...targets].sort((a, b) => a.maxDurationSeconds - b.maxDurationSeconds)) {
    checkWithinMaximum(target, request.durationSeconds)
  }
  const reason = request.reason.trim()
  if (reason.length > MAX_REASON_LENGTH) {
    throw new GrantError(
      'INVALID_REQUEST',
      `The reason is ${reason.length} characters; keep it under ${MAX_REASON_LENGTH}.`,
    )
  }
  const breakGlass = request.breakGlass === true
  if (breakGlass && reason === '') {
    throw new GrantError('INVALID_REQUEST', 'Break-glass access needs a reason: it is reviewed by security.')
  }
  // Each target that does not approve itself keeps its own rule: its approvers (a group's members
  // read for this request) and the requester's manager — never the requester — and its approvals.
  const rules = targets
    .filter((target) => !target.autoApprove)
    .map((target) => ({
      target: target.name,
      approvers: approversOf(target, request.requester, person.manager, groupMembers),
      approvals: target.approvals,
    }))
  const needsApproval = !breakGlass && rules.length > 0
  for (const rule of needsApproval ? rules : []) {
    if (rule.approvers.length < rule.approvals) {
      throw new GrantError(
        'NO_POSSIBLE_APPROVER',
        `${rule.target} needs ${rule.approvals} approval(s), but only ${rule.approvers.length} person(s) other than you may approve; ask an admin to add approvers or a manager for you.`,
      )
    }
  }
  const first = targets[0] ?? findTarget(config, request.target)
  const approvers =
    targets.length === 1
      ? approversOf(first, request.requester, person.manager, groupMembers)
      : [...new Set(rules.flatMap((rule) => rule.approvers))]
  for (const placement of placements) {
    checkPolicyFits(config, placement.targets, placement.principal, now, request.durationSeconds)
  }

  const at = isoSeconds(now)
  const requester: Actor = { kind: 'slack', id: request.requester }
  const history: HistoryEntry[] = [{ at, actor: requester, action: 'requested', from: null, to: 'PENDING' }]
  if (!needsApproval) {
    history.push({
      at,
      actor: breakGlass ? requester : { kind: 'system', id: 'workflow' },
      action: breakGlass ? 'break-glass' : 'auto-approved',
      from: 'PENDING',
      to: 'APPROVED',
    })
  }
  return {
    id: grantIdFor(request.clientToken),
    clientToken: request.clientToken,
    target: first.name,
    ...(targets.length > 1 ? { targets: names, approvalRules: rules } : {}),
    ...(placements.length > 1 ? { placements } : {}),
    requester: request.requester,
    principal,
    reason,
    durationSeconds: request.durationSeconds,
    breakGlass,
    approvers,
    requiredApprovals: Math.max(first.approvals, ...rules.map((rule) => rule.approvals)),
    autoApprove: targets.every((target) => target.autoApprove),
    maxDurationSeconds: Math.min(...targets.map((target) => target.maxDurationSeconds)),
    status: needsApproval ? 'PENDING' : 'APPROVED',
    version: 1,
    requestedAt: at,
    decideBy: isoSeconds(addSeconds(now, config.approvalTimeoutSeconds)),
    approvals: [],
    history,
  }
}

/** A target's approvers for one request: its people, its groups' members, the manager; never the requester; each once. */
function approversOf(
  target: TargetConfig,
  requester: string,
  manager: string | undefined,
  groupMembers: ReadonlyMap<string, readonly string[]>,
): string[] {
  const listed = target.approvers.flatMap((id) => {
    if (!isUserGroup(id)) return [id]
    const members = groupMembers.get(id)
    if (!members) {
      throw new GrantError(
        'APPROVER_GROUP_UNREADABLE',
        `The Slack user group ${id} was not read for this request.`,
      )
    }
    return [...members]
  })
  return [...new Set([...listed, ...(manager ? [manager] : [])])].filter((id) => id !== requester)
}

/** The policy the grant would attach must fit its principal's quota: refused before anyone is asked. */
function checkPolicyFits(
  config: KeylessConfig,
  targets: string[],
  principal: string,
  now: Date,
  durationSeconds: number,
): void {
  try {
    policyForGrant(
      config,
      { target: targets[0] ?? '', targets, principal },
      isoSeconds(addSeconds(now, durationSeconds)),
    )
  } catch (error) {
    if (error instanceof KeylessError && error.code === 'POLICY_TOO_LARGE') {
      throw new GrantError('INVALID_REQUEST', error.message)
    }
    throw error
  }
}

export type GrantEvent =
  | { type: 'approve' }
  | { type: 'deny'; reason?: string }
  | { type: 'cancel' }
  | { type: 'time-out' }
  | { type: 'activate' }
  | { type: 'fail-activation'; reason: string }
  | { type: 'request-revocation'; reason?: string }
  | { type: 'end' }
  | { type: 'fail-revocation'; reason: string }
  | { type: 'request-extension'; durationSeconds: number }
  | { type: 'approve-extension' }
  | { type: 'deny-extension'; reason?: string }

/** Fields a transition may change; identity and the request itself never change. */
export type GrantChanges = Partial<
  Pick<
    Grant,
    'approvals' | 'activatedAt' | 'expiresAt' | 'endedAt' | 'revocation' | 'extension' | 'taskToken'
  >
>

export interface Transition {
  from: GrantStatus
  to: GrantStatus
  set: GrantChanges
  /** Optional fields the transition clears. */
  remove: (keyof GrantChanges)[]
  entry: HistoryEntry
}

/** What every decision step is given: the grant, who acts and when, and how to make the transition. */
interface Step {
  grant: Grant
  actor: Actor
  now: Date
  /** `now` to the whole second, as every grant time is kept. */
  at: string
  move: (
    to: GrantStatus,
    action: GrantAction,
    set?: GrantChanges,
    detail?: string,
    remove?: (keyof GrantChanges)[],
  ) => Transition
}

/** Decides what `event` by `actor` does to `grant` at `now`, or refuses with a GrantError. */
export function decide(grant: Grant, event: GrantEvent, actor: Actor, now: Date): Transition {
  const at = isoSeconds(now)
  const move: Step['move'] = (to, action, set = {}, detail, remove = []) => ({
    from: grant.status,
    to,
    set,
    remove,
    entry: { at, actor, action, from: grant.status, to, ...(detail ? { detail } : {}) },
  })
  const step = DECISIONS[event.type] as (step: Step, event: GrantEvent) => Transition
  return step({ grant, actor, now, at, move }, event)
}

/** One small step per event, each naming the rules it applies. */
const DECISIONS: {
  [Type in GrantEvent['type']]: (step: Step, event: Extract<GrantEvent, { type: Type }>) => Transition
} = {
  approve,
  deny,
  cancel,
  'time-out': timeOut,
  activate,
  'fail-activation': failActivation,
  'request-revocation': requestRevocation,
  end,
  'fail-revocation': failRevocation,
  'request-extension': requestExtension,
  'approve-extension': approveExtension,
  'deny-extension': denyExtension,
}

function approve({ grant, actor, now, at, move }: Step): Transition {
  expectPending(grant, 'approve')
  const approver = expectApprover(grant, actor, 'approve')
  expectBeforeDeadline(grant, now)
  if (grant.approvals.some((approval) => approval.by === approver)) {
    throw new GrantError(
      'ALREADY_APPROVED',
      `You have already approved ${grant.id}; it needs another approver.`,
    )
  }
  const approvals = [...grant.approvals, { by: approver, at }]
  const enough = approvalsSuffice(grant, approvals)
  return move(enough ? 'APPROVED' : 'PENDING', enough ? 'approved' : 'approval-recorded', {
    approvals,
  })
}

function deny({ grant, actor, at, move }: Step, event: Extract<GrantEvent, { type: 'deny' }>): Transition {
  expectPending(grant, 'deny')
  // An operator may close a request too (an incident: `keyless grants revoke --all`); a
  // denial only ever takes access away.
  if (actor.kind !== 'operator') expectApprover(grant, actor, 'deny')
  return move('DENIED', 'denied', { endedAt: at }, event.reason)
}

function cancel({ grant, actor, at, move }: Step): Transition {
  expectPending(grant, 'cancel')
  expectRequester(grant, actor, 'cancel')
  return move('CANCELLED', 'cancelled', { endedAt: at })
}

function timeOut({ grant, actor, now, at, move }: Step): Transition {
  expectSystem(actor, 'time out')
  expectPending(grant, 'time out')
  if (now.getTime() < Date.parse(grant.decideBy)) {
    throw new GrantError(
      'INVALID_STATE',
      `${grant.id} is still within its approval window (until ${grant.decideBy}).`,
    )
  }
  return move('TIMED_OUT', 'timed-out', { endedAt: at })
}

function activate({ grant, actor, at, move }: Step): Transition {
  expectSystem(actor, 'activate')
  expectStatus(grant, ['APPROVED'], 'activate')
  if (grant.revocation) {
    throw new GrantError('INVALID_STATE', `${grant.id} was revoked before its access was attached.`)
  }
  // The approval wait's token is spent; the expiry wait stores its own.
  return move(
    'ACTIVE',
    'activated',
    { activatedAt: at, expiresAt: isoSeconds(addSeconds(at, grant.durationSeconds)) },
    undefined,
    ['taskToken'],
  )
}

function failActivation(
  { grant, actor, at, move }: Step,
  event: Extract<GrantEvent, { type: 'fail-activation' }>,
): Transition {
  expectSystem(actor, 'fail')
  expectStatus(grant, ['APPROVED'], 'fail')
  return move('FAILED', 'activation-failed', { endedAt: at }, event.reason)
}

function requestRevocation(
  { grant, actor, at, move }: Step,
  event: Extract<GrantEvent, { type: 'request-revocation' }>,
): Transition {
  expectStatus(grant, ['APPROVED', 'ACTIVE'], 'revoke')
  if (actor.kind === 'slack' && actor.id !== grant.requester && !grant.approvers.includes(actor.id)) {
    throw new GrantError('NOT_ALLOWED', `Only the requester or an approver of ${grant.id} may revoke it.`)
  }
  if (grant.revocation) {
    throw new GrantError(
      'ALREADY_DECIDED',
      `${grant.id} is already being revoked (by ${describeActor(grant.revocation.by)}).`,
    )
  }
  return move(
    grant.status,
    'revocation-requested',
    {
      revocation: { by: actor, at, ...(event.reason ? { reason: event.reason } : {}) },
    },
    event.reason,
  )
}

function end({ grant, actor, now, at, move }: Step): Transition {
  if (actor.kind === 'slack') throw notAllowed(grant, 'end')
  expectStatus(grant, [...ACCESS_STATUSES], 'end')
  if (grant.revocation) return move('REVOKED', 'revoked', { endedAt: at }, undefined, ['taskToken'])
  if (grant.expiresAt === undefined || now.getTime() < Date.parse(grant.expiresAt)) {
    throw new GrantError(
      'NOT_YET_EXPIRED',
      `${grant.id} has not expired and nobody revoked it; it cannot end yet.`,
    )
  }
  return move('EXPIRED', 'expired', { endedAt: at }, undefined, ['taskToken'])
}

function failRevocation(
  { grant, actor, move }: Step,
  event: Extract<GrantEvent, { type: 'fail-revocation' }>,
): Transition {
  expectSystem(actor, 'fail revocation of')
  expectStatus(grant, [...ACCESS_STATUSES], 'fail revocation of')
  return move('REVOKE_FAILED', 'revocation-failed', {}, event.reason)
}

function requestExtension(
  { grant, actor, at, move }: Step,
  event: Extract<GrantEvent, { type: 'request-extension' }>,
): Transition {
  expectStatus(grant, ['ACTIVE'], 'extend')
  expectRequester(grant, actor, 'extend')
  if (grant.revocation)
    throw new GrantError('INVALID_STATE', `${grant.id} is being revoked; it cannot be extended.`)
  if (grant.extension) {
    throw new GrantError('EXTENSION_PENDING', `${grant.id} already has an extension waiting for approval.`)
  }
  checkExtensionFits(grant, event.durationSeconds)
  return move(
    'ACTIVE',
    'extension-requested',
    {
      extension: { durationSeconds: event.durationSeconds, requestedAt: at, approvals: [] },
    },
    `+${formatDuration(event.durationSeconds)}`,
  )
}

function approveExtension({ grant, actor, at, move }: Step): Transition {
  expectStatus(grant, ['ACTIVE'], 'approve an extension of')
  const extension = grant.extension
  if (!extension)
    throw new GrantError('NO_EXTENSION_PENDING', `${grant.id} has no extension waiting for approval.`)
  let approvals = extension.approvals
  if (actor.kind === 'system' && grant.autoApprove) {
    approvals = [...approvals, { by: actor.id, at }]
  } else {
    const approver = expectApprover(grant, actor, 'approve an extension of')
    if (approvals.some((approval) => approval.by === approver)) {
      throw new GrantError('ALREADY_APPROVED', `You have already approved this extension of ${grant.id}.`)
    }
    approvals = [...approvals, { by: approver, at }]
  }
  const enough = actor.kind === 'system' || approvalsSuffice(grant, approvals)
  if (!enough) {
    return move('ACTIVE', 'extension-approval-recorded', {
      extension: { ...extension, approvals },
    })
  }
  const expiresAt = checkExtensionFits(grant, extension.durationSeconds)
  return move('ACTIVE', 'extended', { expiresAt }, `until ${expiresAt}`, ['extension'])
}

function denyExtension(
  { grant, actor, move }: Step,
  event: Extract<GrantEvent, { type: 'deny-extension' }>,
): Transition {
  expectStatus(grant, ['ACTIVE'], 'deny an extension of')
  if (!grant.extension)
    throw new GrantError('NO_EXTENSION_PENDING', `${grant.id} has no extension waiting for approval.`)
  expectApprover(grant, actor, 'deny an extension of')
  return move('ACTIVE', 'extension-denied', {}, event.reason, ['extension'])
}

/** The grant as it is after `transition`: what the store writes, computed the same way everywhere. */
export function applyTransition(grant: Grant, transition: Transition): Grant {
  const next: Grant = {
    ...grant,
    ...transition.set,
    status: transition.to,
    version: grant.version + 1,
    history: [...grant.history, transition.entry],
  }
  for (const field of transition.remove) delete next[field]
  return next
}

/**
 * How many seconds an extension may still add: an extension never reaches past the target's
 * maximum counted from activation. The Extend buttons offer what fits; a request beyond it is refused.
 */
export function extensionRoom(grant: Grant): number {
  const activatedAt = grant.activatedAt ?? grant.requestedAt
  const currentExpiry = grant.expiresAt ?? activatedAt
  const latest = addSeconds(activatedAt, grant.maxDurationSeconds).getTime()
  return Math.max(0, Math.floor((latest - Date.parse(currentExpiry)) / 1000))
}

function checkExtensionFits(grant: Grant, durationSeconds: number): string {
  const room = extensionRoom(grant)
  if (durationSeconds > room) {
    throw new GrantError(
      'EXTENSION_OVER_LIMIT',
      `+${formatDuration(durationSeconds)} would run past ${grantTargets(grant).length > 1 ? "its targets' smallest" : `${grant.target}'s`} maximum of ${formatDuration(grant.maxDurationSeconds)} from activation; ${room > 0 ? `at most +${formatDuration(room)} is possible` : 'no more time is possible'}.`,
    )
  }
  return isoSeconds(addSeconds(grant.expiresAt ?? grant.activatedAt ?? grant.requestedAt, durationSeconds))
}

/** How a grant's status reads after "it" or "the grant": one wording for refusals and messages alike. */
export const STATUS_WORDS: Record<GrantStatus, string> = {
  PENDING: 'is waiting for approval',
  APPROVED: 'is approved and being activated',
  ACTIVE: 'is active',
  EXPIRED: 'has expired',
  REVOKED: 'was revoked',
  DENIED: 'was denied',
  CANCELLED: 'was cancelled',
  TIMED_OUT: 'timed out without a decision',
  FAILED: 'failed to activate',
  REVOKE_FAILED: 'could not be revoked and needs an operator',
}

const DECISION_WORDS: Partial<Record<GrantAction, string>> = {
  approved: 'approved',
  'auto-approved': 'auto-approved',
  'break-glass': 'taken as break-glass',
  denied: 'denied',
  cancelled: 'cancelled',
}

const SINCE_WORDS: Partial<Record<GrantStatus, string>> = {
  APPROVED: ' and is being activated',
  ACTIVE: ' and is active',
  EXPIRED: ' and has expired',
  REVOKED: ' and was revoked',
  FAILED: ' but failed to activate',
  REVOKE_FAILED: ' and could not be revoked',
}

/**
 * How a request stopped being pending: the decision that took it out of PENDING and who made
 * it (not the workflow's activation after it), so a late click names the person who decided.
 */
function decision(grant: Grant): string {
  const entry = grant.history.find((item) => item.from === 'PENDING' && item.to !== 'PENDING')
  // Nobody decides a timeout: the clock ran out.
  if (entry?.action === 'timed-out') return `it timed out undecided at ${entry.at}`
  const words = entry && DECISION_WORDS[entry.action]
  if (!entry || !words) return `it ${STATUS_WORDS[grant.status]}`
  return `it was ${words} by ${describeActor(entry.actor)} at ${entry.at}${SINCE_WORDS[grant.status] ?? ''}`
}

function expectStatus(grant: Grant, allowed: GrantStatus[], verb: string): void {
  if (!allowed.includes(grant.status)) {
    throw new GrantError('INVALID_STATE', `Cannot ${verb} ${grant.id}: it ${STATUS_WORDS[grant.status]}.`)
  }
}

/** A second decision on a decided request names the first one. */
function expectPending(grant: Grant, verb: string): void {
  if (grant.status !== 'PENDING') {
    throw new GrantError('ALREADY_DECIDED', `Cannot ${verb} ${grant.id}: ${decision(grant)}.`)
  }
}

function expectBeforeDeadline(grant: Grant, now: Date): void {
  if (now.getTime() >= Date.parse(grant.decideBy)) {
    throw new GrantError(
      'REQUEST_EXPIRED',
      `${grant.id} was not decided in time (by ${grant.decideBy}); ask for a new one.`,
    )
  }
}

/**
 * What a pending grant still waits for: with several targets, each target whose rule is not met
 * yet and how many more of its approvers it needs; with one, how many more approvals.
 */
export function approvalsStillNeeded(grant: Grant): { target: string | null; more: number }[] {
  if (!grant.approvalRules) {
    const more = grant.requiredApprovals - grant.approvals.length
    return more > 0 ? [{ target: null, more }] : []
  }
  return grant.approvalRules.flatMap((rule) => {
    const have = grant.approvals.filter((approval) => rule.approvers.includes(approval.by)).length
    return have < rule.approvals ? [{ target: rule.target, more: rule.approvals - have }] : []
  })
}

/**
 * Who a reminder goes to: the approvers who have not decided, and with several targets only
 * those of a target still waiting (a target its approvals already satisfy needs nobody more).
 */
export function approversStillWaitedOn(grant: Grant): string[] {
  const decided = new Set(grant.approvals.map((approval) => approval.by))
  const waiting = grant.approvalRules
    ? new Set(
        approvalsStillNeeded(grant).flatMap(
          ({ target }) => grant.approvalRules?.find((rule) => rule.target === target)?.approvers ?? [],
        ),
      )
    : new Set(grant.approvers)
  return grant.approvers.filter((id) => waiting.has(id) && !decided.has(id))
}

/** What a pending grant still waits for, as a person reads it: `1 more`, or `1 more for dev-web`. */
export function describeStillNeeded(grant: Grant): string {
  return approvalsStillNeeded(grant)
    .map(({ target, more }) => (target ? `${more} more for ${target}` : `${more} more`))
    .join(', ')
}

/**
 * Whether `approvals` decide the grant: with several targets, each target's own rule — enough of
 * its approvers among them (one click counts for every target its clicker approves); with one,
 * enough approvals.
 */
function approvalsSuffice(grant: Grant, approvals: { by: string }[]): boolean {
  if (!grant.approvalRules) return approvals.length >= grant.requiredApprovals
  return grant.approvalRules.every(
    (rule) => approvals.filter((approval) => rule.approvers.includes(approval.by)).length >= rule.approvals,
  )
}

function expectApprover(grant: Grant, actor: Actor, verb: string): string {
  if (actor.kind !== 'slack') throw notAllowed(grant, verb)
  if (actor.id === grant.requester) {
    throw new GrantError('SELF_APPROVAL', `You cannot ${verb} your own request ${grant.id}.`)
  }
  if (!grant.approvers.includes(actor.id)) {
    throw new GrantError(
      'NOT_AN_APPROVER',
      `You are not an approver of ${grantTargets(grant).join(' or ')}, so you cannot ${verb} ${grant.id}.`,
    )
  }
  return actor.id
}

function expectRequester(grant: Grant, actor: Actor, verb: string): void {
  if (actor.kind !== 'slack' || actor.id !== grant.requester) {
    throw new GrantError('NOT_ALLOWED', `Only the requester of ${grant.id} may ${verb} it.`)
  }
}

function expectSystem(actor: Actor, verb: string): void {
  if (actor.kind !== 'system') throw new GrantError('NOT_ALLOWED', `Only keyless itself may ${verb} a grant.`)
}

function notAllowed(grant: Grant, verb: string): GrantError {
  return new GrantError('NOT_ALLOWED', `You may not ${verb} ${grant.id}.`)
}
