import { CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { EventBridgeClient } from '@aws-sdk/client-eventbridge'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { logLine } from '../../local/log-line.ts'
import { AwsAccessBackend } from '../../shared/adapters/aws/access-backend.ts'
import { accessClientsByAccount } from '../../shared/adapters/aws/access-clients.ts'
import {
  createDocumentClient,
  createSecretsClient,
  createSfnClient,
} from '../../shared/adapters/aws/clients.ts'
import { AwsWorkflow } from '../../shared/adapters/aws/step-functions-workflow.ts'
import { DynamoGrantStore } from '../../shared/adapters/dynamodb/grant-store.ts'
import { DynamoHeartbeats } from '../../shared/adapters/dynamodb/heartbeats.ts'
import { DynamoReconcilerRuns } from '../../shared/adapters/dynamodb/reconciler-runs.ts'
import { DynamoVerdictStore } from '../../shared/adapters/dynamodb/verdict-store.ts'
import { systemClock } from '../../shared/core/clock.ts'
import type { KeylessConfig } from '../../shared/core/config/schema.ts'
import { denyRequest, revokeGrant } from '../../shared/core/grants/control.ts'
import type { Actor } from '../../shared/core/grants/grant.ts'
import {
  doctor,
  liveGrants,
  revokeTarget,
  UNSENT_ALERTS_COUNTED,
} from '../../shared/core/grants/operations.ts'
import { assembleControl } from '../../shared/core/plane.ts'
import { commandConfig } from '../config.ts'
import type { CliIo } from '../io.ts'
import { checkDeployment, cloudFormationClient, type DeploymentCheck, stackOutputs } from './deployment.ts'
import type { GrantsOptions, GrantsSource } from './grants-source.ts'

// A deployed table, with the caller's AWS credentials.

export function tableSource(options: GrantsOptions & { table: string }, io: CliIo): GrantsSource {
  const region = options.region ?? io.env.AWS_REGION
  const overrides = region ? { region } : {}
  const client = createDocumentClient(overrides)
  const store = new DynamoGrantStore(client, options.table)
  const config = async () => (await commandConfig(options.config, io)).config
  /** The operator's identity, as IAM itself would log it. */
  const operator = async (): Promise<Actor> => {
    const { Arn } = await new STSClient(overrides).send(new GetCallerIdentityCommand({}))
    return { kind: 'operator', id: Arn ?? 'unknown' }
  }
  const warn = (message: string, details: Record<string, unknown>) =>
    io.err(
      `keyless: warning: ${message} (${logLine(details)}); the reconciler carries out what was recorded\n`,
    )
  // Ending a wait needs only the task token the grant holds; nothing is started from here.
  const workflow = new AwsWorkflow(createSfnClient(overrides), options.stateMachine ?? '')
  // IAM and Session Manager with the operator's own credentials: an incident's cut-off and the
  // doctor's policy check act as the operator, not through keyless's roles. (A member account is
  // reached through its agent role, which trusts keyless's own roles only: an operator acting
  // there is refused by STS, with its reason.)
  const backendFor = (loaded: KeylessConfig) =>
    new AwsAccessBackend(accessClientsByAccount(loaded, overrides))
  return {
    list: (all) => (all ? store.listAll() : liveGrants(store)),
    show: (id) => store.get(id),
    // The revoke is recorded before the workflow is woken: if waking it fails, the reconciler acts.
    revoke: async (id, reason) =>
      revokeGrant({ store, workflow, clock: systemClock, warn }, id, await operator(), reason),
    deny: async (id, reason) =>
      denyRequest({ store, workflow, clock: systemClock, warn }, id, await operator(), reason),
    revokeTarget: async (target, reason) => {
      const loaded = await config()
      const control = assembleControl({ config: loaded, store, workflow, clock: systemClock, warn })
      return revokeTarget({ ...control, backend: backendFor(loaded) }, target, await operator(), reason)
    },
    doctor: async () => {
      const loaded = await config()
      const verdicts = new DynamoVerdictStore(client, options.table)
      return doctor({
        config: loaded,
        store,
        backend: backendFor(loaded),
        clock: systemClock,
        ...(options.stateMachine ? { workflow } : {}),
        unsentAlerts: async () => (await verdicts.listUnsent(UNSENT_ALERTS_COUNTED)).length,
        accounts: 'home',
      })
    },
  }
}

/**
 * `keyless doctor --stack <name>`: the home stack's outputs name the table and the workflow;
 * then the deployment is checked end to end (Slack, the trail, the alert rule, the reconciler,
 * the workflow) with the operator's credentials.
 */
export async function checkStack(
  stack: string,
  options: GrantsOptions,
  io: CliIo,
): Promise<{ options: GrantsOptions & { table: string }; checks: DeploymentCheck[] }> {
  const region = options.region ?? io.env.AWS_REGION
  const overrides = region ? { region } : {}
  const outputs = await stackOutputs(cloudFormationClient(region), stack)
  const client = createDocumentClient(overrides)
  const runs = new DynamoReconcilerRuns(client, outputs.GrantTableName)
  const sfn = createSfnClient(overrides)
  const checks = await checkDeployment(
    {
      region: region ?? (await sfn.config.region()),
      secrets: createSecretsClient(overrides),
      cloudTrail: new CloudTrailClient(overrides),
      events: new EventBridgeClient(overrides),
      sfn,
      lastReconcilerRun: () => runs.last(),
      // The home region's path, where the state machine is (arn:…:states:<region>:<account>:…).
      heartbeat: () => {
        const [, , , homeRegion = '', homeAccount = ''] = outputs.StateMachineArn.split(':')
        return new DynamoHeartbeats(client, outputs.GrantTableName).read({
          account: homeAccount,
          region: homeRegion,
        })
      },
      clock: systemClock,
      ...(io.env.SLACK_API_URL ? { slackApiUrl: io.env.SLACK_API_URL } : {}),
    },
    outputs,
  )
  return {
    options: { ...options, table: outputs.GrantTableName, stateMachine: outputs.StateMachineArn },
    checks,
  }
}
