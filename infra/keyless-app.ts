import { App } from 'aws-cdk-lib'
import type { KeylessConfig } from '../shared/config/schema.ts'
import { KeylessStack } from './keyless-stack.ts'

/**
 * The CDK app for a validated config: the account and home region come from the config, never
 * from the environment or a lookup, so synth needs no credentials and no network.
 */
export function keylessApp(config: KeylessConfig, options: { outdir?: string } = {}) {
  const app = new App(options.outdir ? { outdir: options.outdir } : {})
  const home = new KeylessStack(app, 'Keyless', {
    config,
    env: { account: config.account, region: config.region },
    description: 'keyless: just-in-time access to instances (home region)',
  })
  return { app, home }
}
