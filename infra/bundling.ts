import { fileURLToPath } from 'node:url'
import type { BuildOptions } from 'esbuild'

/**
 * How every keyless Lambda function is bundled: what the CDK NodejsFunction construct passes
 * to esbuild, and what `npm run bench` measures. One place, so the bench measures what ships.
 *
 * - ESM, minified, with source maps; Node 22, as the nodejs22.x runtime runs it.
 * - The AWS SDK v3 is left to the runtime, which ships it.
 * - Bolt's package brings every receiver along; three modules only the receivers keyless does
 *   not run in Lambda use are replaced with small stand-ins that fail loudly if ever reached
 *   (see the files beside this one): undici (Socket Mode, 0.5 MB), iconv-lite (Express's body
 *   parsers, 0.5 MB) and mime-db (Express's static files, 0.15 MB).
 * - CommonJS dependencies inside an ESM bundle call `require` for Node's own modules: the
 *   banner gives them one.
 */
const stub = (name: string) => fileURLToPath(new URL(`./bundling/${name}`, import.meta.url))

export const LAMBDA_BUNDLING: BuildOptions = {
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  alias: {
    undici: stub('unused-undici.cjs'),
    'iconv-lite': stub('unused-iconv-lite.cjs'),
    'mime-db': stub('unused-mime-db.cjs'),
  },
  banner: {
    js: "import { createRequire as __keylessCreateRequire } from 'node:module'; const require = __keylessCreateRequire(import.meta.url);",
  },
}
