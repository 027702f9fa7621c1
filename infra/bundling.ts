import { fileURLToPath } from 'node:url'
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs'

/**
 * How every keyless Lambda function is bundled: what NodejsFunction hands to the locally
 * installed esbuild (never Docker). `npm run bench` measures the bundles a real synth writes,
 * so what is measured is what ships.
 *
 * - ESM, minified, with source maps; Node 22, as the nodejs22.x runtime runs it.
 * - The AWS SDK v3 is left to the runtime, which ships it (NodejsFunction's default).
 * - Bolt's package brings every receiver along; three modules only the receivers keyless does
 *   not run in Lambda use are replaced with small stand-ins that fail loudly if ever reached
 *   (see the files beside this one): undici (Socket Mode, 0.5 MB), iconv-lite (Express's body
 *   parsers, 0.5 MB) and mime-db (Express's static files, 0.15 MB).
 * - CommonJS dependencies inside an ESM bundle call `require` for Node's own modules: the
 *   banner gives them one.
 * - The validated config file is copied beside the bundle (`configFile` below): functions read
 *   it from KEYLESS_CONFIG, so a config change is a new asset and a new deployment.
 */
const stub = (name: string) => fileURLToPath(new URL(`./bundling/${name}`, import.meta.url))

/** Where the bundled config lands in every function's package (the Lambda task root). */
export const BUNDLED_CONFIG = '/var/task/keyless.config.yaml'

export function lambdaBundling(configFile: string): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: 'node22',
    minify: true,
    sourceMap: true,
    mainFields: ['module', 'main'],
    esbuildArgs: {
      '--alias': [
        `undici=${stub('unused-undici.cjs')}`,
        `iconv-lite=${stub('unused-iconv-lite.cjs')}`,
        `mime-db=${stub('unused-mime-db.cjs')}`,
      ],
    },
    banner:
      "import { createRequire as __keylessCreateRequire } from 'node:module'; const require = __keylessCreateRequire(import.meta.url);",
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) => [
        `cp ${shellQuote(configFile)} ${shellQuote(`${outputDir}/keyless.config.yaml`)}`,
      ],
    },
  }
}

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`
