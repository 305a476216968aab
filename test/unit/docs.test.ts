// The user docs stay navigable and in step with the code: the README stays a front page that links
// every page under docs/, every relative link and #anchor in the docs leads somewhere, and the
// configuration reference names every field of the schema and every environment variable the
// code reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import t from 'tap'
import { gatewayConfigSchema } from '../../src/config/schema.js'

const README_MAX_BYTES = 15 * 1024
const DOCS = readdirSync('docs')
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`)
const LINKING_FILES = ['README.md', ...DOCS, 'bench/NOTES.md', 'test/fixtures/corpora/README.md']

/** The text outside fenced code blocks and inline code spans, where links and headings live. */
function prose(markdown: string): string {
  return markdown
    .replace(/^```[\s\S]*?^```/gm, '')
    .replace(/``[^`]*``|`[^`\n]*`/g, (span) => span.replace(/[[\]()#]/g, ' '))
}

/** GitHub's anchor for each heading of a page: lower case, punctuation dropped, spaces to '-'. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '')
  for (const match of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    const base = (match[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

t.test('docs: the README is a front page of at most 15 KiB', async (t) => {
  const size = readFileSync('README.md').length
  t.ok(size <= README_MAX_BYTES, `README.md is ${size} bytes`)
})

t.test('docs: the README links every page under docs/', async (t) => {
  const targets = new Set(
    linksOf(readFileSync('README.md', 'utf8')).map((l) => normalize(l.split('#')[0] as string)),
  )
  t.ok(DOCS.length > 0, 'there are pages under docs/')
  for (const page of DOCS) {
    t.ok(targets.has(page), `README links ${page}`)
  }
})

t.test('docs: every relative link and anchor leads somewhere', async (t) => {
  for (const file of LINKING_FILES) {
    const text = readFileSync(file, 'utf8')
    for (const link of linksOf(text)) {
      if (/^[a-z]+:/i.test(link)) continue
      const [path, anchor] = link.split('#') as [string, string | undefined]
      const target = path === '' ? file : normalize(join(dirname(file), path))
      const exists = existsSync(target)
      t.ok(exists, `${file}: ${link} exists`)
      if (exists && anchor !== undefined) {
        t.ok(anchorsOf(readFileSync(target, 'utf8')).has(anchor), `${file}: ${link} names a heading`)
      }
    }
  }
})

/** Every field of the schema as a dotted name: `server.host`, `session.redis.url`, ... */
function schemaFields(schema: unknown, prefix = ''): string[] {
  const properties = (schema as { properties?: Record<string, unknown> }).properties
  if (!properties) return []
  return Object.entries(properties).flatMap(([name, child]) => {
    const field = `${prefix}${name}`
    const nested = schemaFields(child, `${field}.`)
    return nested.length > 0 ? nested : [field]
  })
}

/** Every GATEWAY_* variable the code reads, `NAME_FILE` variants included. */
function environmentVariables(): string[] {
  const names = new Set<string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(path, 'utf8')
        for (const m of source.matchAll(/\bGATEWAY_[A-Z_]*[A-Z]\b/g)) names.add(m[0])
        // readSecretValue(env, 'NAME', ...) also reads NAME_FILE.
        for (const m of source.matchAll(/readSecretValue\(env, '(GATEWAY_[A-Z_]+)'/g))
          names.add(`${m[1]}_FILE`)
      }
    }
  }
  walk('src')
  return [...names].sort()
}

t.test('docs: the configuration reference names every field and variable', async (t) => {
  const reference = readFileSync('docs/configuration.md', 'utf8')
  const fields = schemaFields(gatewayConfigSchema)
  t.ok(fields.includes('session.redis.client_cache'), 'the schema walk reaches nested fields')
  for (const field of fields) t.ok(reference.includes(`\`${field}\``), `${field} is documented`)
  const variables = environmentVariables()
  t.ok(variables.includes('GATEWAY_SESSION_SECRETS_FILE'), 'the variable scan finds the _FILE forms')
  for (const name of variables) t.ok(reference.includes(`\`${name}\``), `${name} is documented`)
})
