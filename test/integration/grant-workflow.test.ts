import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grantPolicyName } from '../../shared/access/backend.ts'
import { isoSeconds } from '../../shared/clock.ts'
import {
  approveExtension,
  approveRequest,
  cancelRequest,
  denyRequest,
  requestExtension,
  revokeGrant,
  submitRequest,
} from '../../shared/grants/control.ts'
import type { Actor } from '../../shared/grants/grant.ts'
import { newClientToken } from '../../shared/grants/grant.ts'
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../kit/dynamo.ts'
import { simulate } from '../kit/iam.ts'
import { ALICE, BOB, INSTANCES, type Plane, startPlane, workflowConfig } from '../kit/plane.ts'

const alice: Actor = { kind: 'slack', id: 'U0ALICE' }
const manager: Actor = { kind: 'slack', id: 'U0MANAGER1' }
const PROD_INSTANCE = `arn:aws:ec2:eu-west-1:111122223333:instance/${INSTANCES[0]?.instanceId}`

const request = (overrides: { target?: string; durationSeconds?: number; breakGlass?: boolean } = {}) => ({
  clientToken: newClientToken(),
  target: 'prod-db',
  requester: 'U0ALICE',
  durationSeconds: 3600,
  reason: 'fixing replication lag',
  ...overrides,
})

/** What the IAM simulator decides for StartSession on a prod-db instance with the principal's policies right now. */
async function canStartSession(plane: Plane, principal = ALICE) {
  const policies = [...(plane.backend.policies.get(principal)?.values() ?? [])]
  return simulate(policies, {
    action: 'ssm:StartSession',
    resource: PROD_INSTANCE,
    context: {
      'ssm:resourceTag/access-target': 'prod-db',
      'ssm:SessionDocumentAccessCheck': 'true',
      'aws:CurrentTime': isoSeconds(new Date()),
    },
  })
}

let db: EmbeddedDynamo
beforeAll(async () => {
  db = await startEmbeddedDynamo('workflow-grants')
})
afterAll(async () => {
  await db?.close()
})

describe('the grant workflow (statemachines/grant.asl.json in the local runner)', () => {
  it('asks, attaches, waits out the grant and removes access at expiry', async () => {
    const plane = await startPlane(workflowConfig(), {}, db)
    expect(await canStartSession(plane)).toBe('ImplicitlyDenied')
    const { grant } = await submitRequest(plane.control, request({ durationSeconds: 2 }))
    const asked = await plane.until(grant.id, (current) => current.taskToken !== undefined)
    expect(asked.status).toBe('PENDING')
    expect(plane.notifier.kinds(grant.id)).toEqual(['approval-requested'])

    await approveRequest(plane.control, grant.id, manager)
    const active = await plane.untilStatus(grant.id, 'ACTIVE')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))?.Statement[0]?.Condition.DateLessThan).toEqual({
      'aws:CurrentTime': active.expiresAt,
    })
    expect(await canStartSession(plane)).toBe('Allowed')

    const outcome = await plane.finished(grant.id)
    const ended = await db.store.get(grant.id)
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' })
    expect(ended?.status).toBe('EXPIRED')
    expect(plane.backend.policyOf(ALICE, grantPolicyName(grant.id))).toBeUndefined()
    expect(await canStartSession(plane)).toBe('ImplicitlyDenied')
    expect(outcome.states).toEqual([
      'Needs approval?',
      'Ask for approval',
      'Attach access',
      'Wait for expiry, extension or revoke',
      'Revoke access',
      'Access ended',
    ])
    expect(plane.notifier.kinds(grant.id)).toEqual(['approval-requested', 'access-active', 'access-ended'])
    const activeNotice = plane.notifier.notices.find((notice) => notice.kind === 'access-active')
    expect(activeNotice?.kind === 'access-active' && activeNotice.instructions.join('\n')).toContain(
      'aws ssm start-session --region eu-west-1 --target <instance-id>',
    )
    expect(ended?.history.map((entry) => entry.action)).toEqual(['requested', 'approved', 'activated', 'expired'])
  })
})
