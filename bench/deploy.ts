/**
 * What a deployment ships: `cdk synth` of the example config with real esbuild bundling (the
 * very assets `cdk deploy` uploads), timed; then every function's bundle size and its cold
 * module load (import in a fresh Node process, module evaluation included), median of 10.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { keylessApp } from '../infra/keyless-app.ts'
import { EXAMPLE_CONFIG_FILE, loadConfigFile } from '../shared/core/config/load.ts'
import { median, printTable } from './report.ts'

const BENCH_DIR = new URL('../.bench/', import.meta.url).pathname

export async function deployBundles(): Promise<void> {
  const config = await loadConfigFile(EXAMPLE_CONFIG_FILE)
  const templateOnly: number[] = []
  for (let run = 0; run < 3; run++) {
    const outdir = mkdtempSync(join(tmpdir(), 'keyless-bench-synth-'))
    const started = performance.now()
    keylessApp(config, { configFile: EXAMPLE_CONFIG_FILE, outdir, skipBundling: true }).app.synth()
    templateOnly.push(performance.now() - started)
    rmSync(outdir, { recursive: true, force: true })
  }
  // Inside the project, so the bundles resolve @aws-sdk/* from node_modules as Lambda's runtime provides them.
  mkdirSync(BENCH_DIR, { recursive: true })
  const outdir = mkdtempSync(join(BENCH_DIR, 'synth-'))
  try {
    const started = performance.now()
    const { app, home } = keylessApp(config, { configFile: EXAMPLE_CONFIG_FILE, outdir })
    const assembly = app.synth()
    const bundled = performance.now() - started
    // CDK's own CloudFormation validation ran in this synth (the template tests turn it off).
    const validation = JSON.parse(
      readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: { violations?: unknown[] }[]
    }
    const findings = validation.pluginReports.reduce(
      (sum, report) => sum + (report.violations?.length ?? 0),
      0,
    )
    console.log(
      `\nsynth (example config, 2 regions, cdk-nag and CDK's CloudFormation validation on): templates only median of 3 ${(median(templateOnly) / 1000).toFixed(1)} s; with esbuild bundling of every function ${(bundled / 1000).toFixed(1)} s; CloudFormation validation findings: ${findings}`,
    )
    const template = JSON.parse(readFileSync(join(assembly.directory, home.templateFile), 'utf8'))
    const rows: [string, number, number][] = []
    const resources: Record<
      string,
      { Type: string; Properties: { Environment?: unknown; Code: { S3Key: string } } }
    > = template.Resources
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::Lambda::Function' || !resource.Properties.Environment) continue
      const hash = resource.Properties.Code.S3Key.replace(/\.zip$/, '')
      const file = join(assembly.directory, `asset.${hash}`, 'index.mjs')
      const loads = Array.from({ length: 10 }, () => loadTime(file))
      rows.push([
        id.replace(/Function[0-9A-F]{8}$/, '').replace(/Handler$/, ''),
        statSync(file).size,
        median(loads),
      ])
    }
    rows.sort((a, b) => b[1] - a[1])
    printTable(
      [
        'function (nodejs22.x arm64, minified ESM, @aws-sdk/* from the runtime)',
        'bundle',
        'cold load, median of 10',
      ],
      rows.map(([name, size, load]) => [
        name,
        `${(size / 1_000_000).toFixed(2)} MB`,
        `${load.toFixed(0)} ms`,
      ]),
    )
    console.log('target: every function ≤ 1.5 MB; load times include the AWS SDK clients each imports')
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

/** Milliseconds to import `file` in a fresh Node process (module evaluation included). */
function loadTime(file: string): number {
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t)`,
    ],
    { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1' } },
  )
  if (result.status !== 0) throw new Error(`loading ${file} failed: ${result.stderr}`)
  return Number(result.stdout.trim())
}
