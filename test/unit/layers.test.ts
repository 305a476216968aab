// The layer rules of docs/architecture.md, checked on every import in src/: a module may import
// its own folder and any lower layer, never a higher one, and never a sibling folder of its own
// layer (acl knows nothing of delivery, session nothing of login). Type-only imports count too:
// a type from a higher layer is a dependency on it all the same.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/** Lowest first. A unit is a top-level file or folder of src/. */
const LAYERS: readonly (readonly string[])[] = [
  [
    'errors.ts',
    'problems.ts',
    'deep-freeze.ts',
    'log-destination.ts',
    'log-pretty.ts',
    'duration.ts',
    'bounded-memo.ts',
  ],
  ['paths', 'acl', 'delivery', 'logger.ts', 'redis'],
  ['credentials', 'browser', 'throttle'],
  ['config'],
  ['session', 'login'],
  ['decision'],
  ['ops'],
  ['http'],
  ['app.ts', 'preflight.ts', 'startup-failure.ts', 'admin-app.ts'],
  // Host-install tooling (render-nginx): used by the command line, never by the gateway itself.
  ['deploy'],
  ['server.ts', 'cli'],
  ['cli.ts'],
]

function unitOf(file: string): string {
  return relative(SRC, file).split('/')[0] as string
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((units) => units.includes(unit))
}

/** Why importing `target` from `file` (both under src/) breaks the rules, or null. */
function violation(file: string, target: string): string | null {
  if (!target.startsWith(`${SRC}/`)) return `${relative(SRC, file)} imports ${target}, outside src/`
  const from = unitOf(file)
  const to = unitOf(target)
  if (to === from) return null
  const a = layerOf(from)
  const b = layerOf(to)
  if (b > a) return `${relative(SRC, file)} (${from}) imports a higher layer: ${relative(SRC, target)}`
  if (b === a) return `${relative(SRC, file)} (${from}) imports its sibling ${relative(SRC, target)}`
  return null
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]
    if (spec?.startsWith('.')) found.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
  }
  return found
}

const files = sourceFiles(SRC)

t.test('every top-level file and folder of src/ has a layer', async (t) => {
  const units = new Set(files.map(unitOf))
  for (const unit of units) t.not(layerOf(unit), -1, `${unit} is placed in LAYERS`)
})

t.test('no import runs up a layer or across to a sibling of the same layer', async (t) => {
  const violations: string[] = []
  let checked = 0
  for (const file of files) {
    for (const target of relativeImports(file)) {
      checked++
      const found = violation(file, target)
      if (found) violations.push(found)
    }
  }
  t.ok(checked > 100, `the imports were found (${checked})`)
  t.same(violations, [])
})

t.test('the checker catches what it is there for', async (t) => {
  const at = (path: string) => join(SRC, path)
  t.match(violation(at('delivery/send-direct.ts'), at('http/refuse.ts')), /imports a higher layer/)
  t.match(violation(at('acl/rules.ts'), at('delivery/accel-headers.ts')), /imports its sibling/)
  t.match(violation(at('session/redis-store.ts'), resolve(SRC, '../test/harness/redis.ts')), /outside src/)
  t.equal(violation(at('http/refuse.ts'), at('errors.ts')), null, 'down is fine')
  t.equal(violation(at('acl/rules.ts'), at('acl/pattern.ts')), null, 'inside a folder is fine')
  const sample =
    "import { refuse } from '../http/refuse.js'\nexport { x } from './y.js'\nawait import('./z.js')"
  t.same(
    [...sample.matchAll(IMPORT)].map((m) => m[1] ?? m[2]),
    ['../http/refuse.js', './y.js', './z.js'],
  )
})

t.test('docs/architecture.md draws the same layers', async (t) => {
  const doc = readFileSync(resolve(SRC, '../docs/architecture.md'), 'utf8')
  const drawn = new Map<string, number>()
  for (const m of doc.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)) {
    for (const unit of (m[2] as string).matchAll(/`([^`]+?)\/?`/g)) drawn.set(unit[1] as string, Number(m[1]))
  }
  const expected = new Map(LAYERS.flatMap((units, layer) => units.map((u) => [u, layer] as const)))
  t.same(Object.fromEntries(drawn), Object.fromEntries(expected))
})
