import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The tree says what keyless is: `shared/core/` is the domain and its ports, free of every SDK,
 * Slack package, HTTP server, embedded database and CDK, and of the adapters; no source file
 * imports, by any path, a file that imports it back.
 */

const ROOT = resolve(import.meta.dirname, '../..')
const SOURCE_FOLDERS = ['shared', 'functions', 'infra', 'cli', 'local', 'bench']

/** Every module specifier a file names: static, type-only, re-exported and dynamic imports. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
    found.push(match[1] as string)
  }
  for (const match of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1] as string)
  for (const match of text.matchAll(/(?:^|\n)import\s+['"]([^'"]+)['"]/g)) found.push(match[1] as string)
  return found
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

const FORBIDDEN_IN_CORE =
  /^(@aws-sdk\/|@smithy\/|@slack\/|@middy\/|@aws-lambda-powertools\/|aws-cdk-lib|constructs$|cdk-nag|dynalite|node:https?$)/

describe('the architecture', () => {
  it('keeps the core pure: no SDK, Slack, middleware, CDK, embedded database or HTTP, and no adapter', () => {
    const core = join(ROOT, 'shared/core')
    const offences: string[] = []
    for (const file of sourceFiles('shared/core')) {
      for (const specifier of specifiers(file)) {
        const outside =
          specifier.startsWith('.') && relative(core, resolve(dirname(file), specifier)).startsWith('..')
        if (FORBIDDEN_IN_CORE.test(specifier) || outside)
          offences.push(`${relative(ROOT, file)} imports ${specifier}`)
      }
    }
    expect(offences).toEqual([])
  })

  it('has no import cycle between source files', () => {
    const graph = new Map<string, string[]>()
    for (const folder of SOURCE_FOLDERS) {
      for (const file of sourceFiles(folder)) {
        graph.set(
          file,
          specifiers(file)
            .filter((specifier) => specifier.startsWith('.'))
            .map((specifier) => resolve(dirname(file), specifier)),
        )
      }
    }
    const cycles: string[] = []
    const state = new Map<string, 'visiting' | 'done'>()
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((each) => relative(ROOT, each)).join(' → '))
        return
      }
      state.set(file, 'visiting')
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file])
      state.set(file, 'done')
    }
    for (const file of graph.keys()) visit(file, [])
    expect(cycles).toEqual([])
  })
})
