import { join } from 'node:path'
import { App, type Stack, Validations } from 'aws-cdk-lib'
import { ManagedPolicy, PermissionsBoundary } from 'aws-cdk-lib/aws-iam'
import { AwsSolutionsChecks } from 'cdk-nag'
import { GLOBAL_EVENTS_REGION } from '../shared/core/aws/regions.ts'
import type { KeylessConfig } from '../shared/core/config/schema.ts'
import { type DeployOptions, readDeployOptions } from './deploy-options.ts'
import { KeylessStack, SatelliteStack } from './keyless-stack.ts'
import { synthesizeMemberTemplate } from './member-accounts.ts'
import { grantPrincipals, KEYLESS_STACK_NAME } from './permissions.ts'

export interface KeylessAppOptions {
  /** The validated config file, bundled with every function. */
  configFile: string
  /** Default: read from the app's CDK context (cdk.json's "context", `-c key=value`). */
  deploy?: DeployOptions
  outdir?: string
  /** Skip esbuild (tests of the template): NodejsFunction then stages no code. */
  skipBundling?: boolean
  /**
   * CDK's own CloudFormation validation of the templates at synth (on unless turned off). The
   * template tests turn it off: its WebAssembly engine costs seconds to start, and the bench's
   * synth runs it and reports what it finds.
   */
  cloudFormationValidation?: boolean
}

/**
 * The CDK app for a validated config: the home stack, and a satellite stack per other region
 * in `regions` and in the partition's global-events region (and, with an organization, the member accounts' template, synthesized first). The account and regions come from the config, never from the environment or a
 * lookup, so synth needs no credentials and no network. cdk-nag's AwsSolutions checks run at
 * synth; an unacknowledged finding stops it.
 */
export function keylessApp(config: KeylessConfig, options: KeylessAppOptions) {
  grantPrincipals(config) // refuses a principal among keyless's own roles before anything is built
  const cloudFormationValidation = options.cloudFormationValidation ?? true
  const app = new App({
    builtinCloudFormationValidation: cloudFormationValidation,
    ...(options.outdir ? { outdir: options.outdir } : {}),
    ...(options.skipBundling ? { context: { 'aws:cdk:bundling-stacks': [] } } : {}),
  })
  const deploy = options.deploy ?? readDeployOptions((key) => app.node.tryGetContext(key))
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  const memberTemplate = config.organization
    ? synthesizeMemberTemplate(config, {
        outdir: join(app.outdir, 'member-accounts'),
        cloudFormationValidation,
      })
    : undefined
  const home = new KeylessStack(app, KEYLESS_STACK_NAME, {
    config,
    ...(memberTemplate ? { memberTemplate } : {}),
    configFile: options.configFile,
    options: deploy,
    env: { account: config.account, region: config.region },
    description: 'keyless: just-in-time access to instances (home region)',
  })
  // Every configured region, and the global-events region (IAM's calls reach EventBridge there
  // only), whose satellite forwards what it sees and holds no Session documents unless configured.
  const globalRegion = GLOBAL_EVENTS_REGION[config.partition]
  const watched = [...new Set([...config.regions, globalRegion])]
  const satellites = watched
    .filter((region) => region !== config.region)
    .map((region) => {
      const targetsHere = config.regions.includes(region)
      return new SatelliteStack(app, `${KEYLESS_STACK_NAME}-${region}`, {
        config,
        options: deploy,
        sessionDocuments: targetsHere,
        env: { account: config.account, region },
        description: targetsHere
          ? `keyless: watched events and Session documents of ${region}`
          : `keyless: watched events of ${region}, where IAM's calls are recorded`,
      })
    })
  if (deploy.permissionsBoundary) {
    for (const stack of [home, ...satellites]) bound(stack, deploy.permissionsBoundary)
  }
  return { app, home, satellites }
}

function bound(stack: Stack, policyArn: string) {
  PermissionsBoundary.of(stack).apply(
    ManagedPolicy.fromManagedPolicyArn(stack, 'PermissionsBoundary', policyArn),
  )
}
