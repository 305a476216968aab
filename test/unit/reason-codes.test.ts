// Every reason code of src/errors.ts is documented: a row of a docs table names it in its first
// cell. Adding a code is one line in errors.ts plus that row; this test says when the row is missing.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import * as errors from '../../src/errors.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function docs(): string {
  const pages = readdirSync(join(ROOT, 'docs'), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => join(ROOT, 'docs', e.name))
  return [join(ROOT, 'README.md'), ...pages].map((p) => readFileSync(p, 'utf8')).join('\n')
}

/** Codes named in the first cell of a Markdown table row. */
function documentedCodes(text: string): Set<string> {
  const codes = new Set<string>()
  for (const line of text.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1]
    for (const m of first?.matchAll(/`(GW_[A-Z_]+)`/g) ?? []) codes.add(m[1] as string)
  }
  return codes
}

function errorCodes(): Map<string, number> {
  const codes = new Map<string, number>()
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !('prototype' in value) || !(value.prototype instanceof Error))
      continue
    const e = new (value as new () => errors.GatewayError)()
    codes.set(e.code, e.statusCode ?? 500)
  }
  return codes
}

t.test('every error class has a code of its own', async (t) => {
  const classes = Object.values(errors).filter((v) => typeof v === 'function' && v.prototype instanceof Error)
  t.ok(classes.length >= 15, `error classes found (${classes.length})`)
  t.equal(errorCodes().size, classes.length, 'no code is shared by two classes')
})

t.test('every code is in a docs table', async (t) => {
  const documented = documentedCodes(docs())
  for (const code of errorCodes().keys()) t.ok(documented.has(code), `${code} has a row`)
})

t.test('the row finder reads first cells only', async (t) => {
  const found = documentedCodes('| `GW_ERR_A`, `GW_B` | 401 |\n| x | `GW_ERR_C` |\ntext `GW_ERR_D`')
  t.same([...found].sort(), ['GW_B', 'GW_ERR_A'])
})
