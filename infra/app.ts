import { chooseConfigFile, describeConfigChoice, loadConfigFile } from '../shared/core/config/load.ts'
import { KeylessError } from '../shared/core/errors.ts'
import { keylessApp } from './keyless-app.ts'

/**
 * `npx cdk synth` / `npx cdk deploy` (cdk.json runs this): the config as `npm start` finds it
 * ($KEYLESS_CONFIG, else ./keyless.config.yaml, else the shipped example), validated before
 * anything is synthesized, with the same path-named errors; the deploy options from CDK context.
 */
const choice = await chooseConfigFile(undefined, process.env)
const { file } = choice
process.stderr.write(`keyless: synthesizing ${describeConfigChoice(choice)}\n`)
try {
  keylessApp(await loadConfigFile(file), { configFile: file }).app.synth()
} catch (error) {
  if (!(error instanceof KeylessError)) throw error
  process.stderr.write(`keyless: ${error.message}\n`)
  process.exit(1)
}
