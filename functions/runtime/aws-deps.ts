import { Logger } from '@aws-lambda-powertools/logger'
import { z } from 'zod'
import { AwsAccessBackend } from '../../shared/access/aws-backend.ts'
import {
  createDocumentClient,
  createIamClient,
  createSfnClient,
  ssmClientsByRegion,
} from '../../shared/aws/clients.ts'
import { systemClock } from '../../shared/clock.ts'
import { loadConfigFile } from '../../shared/config/load.ts'
import type { TaskDeps } from '../../shared/grants/tasks.ts'
import { LogNotifier } from '../../shared/notify/log-notifier.ts'
import { DynamoGrantStore } from '../../shared/store/dynamo-grant-store.ts'
import { AwsWorkflow } from '../../shared/workflow/aws-workflow.ts'

/**
 * The composition root of every function in AWS: environment read and checked once, clients
 * built once per cold start, on first use rather than at import.
 */

export const logger = new Logger({ serviceName: 'keyless' })

const environment = z.object({
  TABLE_NAME: z.string().min(1),
  STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  // The validated config file is bundled with each function (see infra/).
  KEYLESS_CONFIG: z.string().default('keyless.config.yaml'),
})

let deps: Promise<TaskDeps> | undefined

export function awsDeps(): Promise<TaskDeps> {
  deps ??= build()
  return deps
}

async function build(): Promise<TaskDeps> {
  const env = environment.parse(process.env)
  const config = await loadConfigFile(env.KEYLESS_CONFIG)
  const warn = (message: string, details: Record<string, unknown>) => logger.warn(message, details)
  return {
    config,
    store: new DynamoGrantStore(createDocumentClient(), env.TABLE_NAME),
    backend: new AwsAccessBackend(createIamClient(), ssmClientsByRegion()),
    notifier: new LogNotifier((message, details) => logger.info(message, details)),
    workflow: new AwsWorkflow(createSfnClient(), env.STATE_MACHINE_ARN),
    clock: systemClock,
    warn,
  }
}
