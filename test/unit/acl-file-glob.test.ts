// acl.paths globs are written in the rule language: the same `*`, `?`, `[...]` and `{a,b}`, the same
// errors, and for any glob and file name the same answer as a rule path would give.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { compileFileGlob } from '../../src/acl/file-glob.js'
import { type AclOptions, buildRuleSet, DEFAULT_POLICY, loadRuleSet } from '../../src/acl/index.js'

const options: AclOptions = { defaultEffect: 'deny', defaults: DEFAULT_POLICY }
const RULES = 'rules:\n  - id: r\n    path: /x\n    allow: anyone\n'

/** A folder holding `names`, each a valid rule file with a distinct rule id. */
async function folder(t: Test, names: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acl-file-glob-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [i, name] of names.entries())
    await writeFile(join(dir, name), RULES.replace('id: r', `id: r${i}`))
  return dir
}

async function selected(dir: string, glob: string): Promise<string[]> {
  const r = await loadRuleSet([join(dir, glob)], options)
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.ruleSet.files.map((f) => f.slice(dir.length + 1))
}

const NAMES = ['10-public.yaml', '20-reports.yaml', '30-teams.yml', 'a.yaml', 'notes.txt']

t.test('file glob: * ? [...] select as in rule paths, in byte order of names', async (t) => {
  const dir = await folder(t, NAMES)
  t.same(await selected(dir, '*.yaml'), ['10-public.yaml', '20-reports.yaml', 'a.yaml'])
  t.same(await selected(dir, '?0-*'), ['10-public.yaml', '20-reports.yaml', '30-teams.yml'])
  t.same(await selected(dir, '[12]0-*.yaml'), ['10-public.yaml', '20-reports.yaml'])
  t.same(await selected(dir, '[!1]0-*'), ['20-reports.yaml', '30-teams.yml'])
  t.same(await selected(dir, '[^1-2]*'), ['30-teams.yml', 'a.yaml', 'notes.txt'], '[^...] as [!...]')
})

t.test('file glob: {a,b} alternation, and files still come in name order', async (t) => {
  const dir = await folder(t, NAMES)
  t.same(await selected(dir, '{30,10}-*.{yaml,yml}'), ['10-public.yaml', '30-teams.yml'])
  t.same(await selected(dir, '*.y{a,}ml'), ['10-public.yaml', '20-reports.yaml', '30-teams.yml', 'a.yaml'])
})

t.test('file glob: a literal brace or bracket is written as a class, as in rule paths', async (t) => {
  const dir = await folder(t, ['{old}-[x].yaml', 'old.yaml'])
  t.same(await selected(dir, '[{]old[}]-[[]x].yaml'), ['{old}-[x].yaml'])
})

t.test('file glob: ? is one character, even outside the BMP; names compare in NFC', async (t) => {
  const dir = await folder(t, ['😀-x.yaml', 'cafe\u0301.yaml'])
  t.same(await selected(dir, '?-x.yaml'), ['😀-x.yaml'])
  t.same(await selected(dir, 'caf\u00e9.yaml'.replace('.yaml', '*.yaml')), ['cafe\u0301.yaml'])
})

t.test('file glob: what cannot select files of one folder is an error naming the path', async (t) => {
  const dir = await folder(t, NAMES)
  for (const [glob, code, message] of [
    ['**', 'GW_ACL_BAD_PATTERN', /'\*\*' would take folders below/],
    ['**.yaml', 'GW_ACL_BAD_PATTERN', /'\*\*' must be a whole segment/],
    ['{user}', 'GW_ACL_BAD_PATTERN', /match requests, not files/],
    ['{user}.yaml', 'GW_ACL_BAD_PATTERN', /a placeholder must be a whole segment/],
    ['{nobody}.yaml', 'GW_ACL_UNKNOWN_PLACEHOLDER', /unknown placeholder/],
    ['[a.yaml', 'GW_ACL_BAD_PATTERN', /unbalanced '\['/],
    ['{a,b.yaml', 'GW_ACL_BAD_PATTERN', /unbalanced '\{'/],
  ] as const) {
    const path = join(dir, glob)
    const r = await loadRuleSet([path], options)
    t.equal(r.ok, false, glob)
    if (r.ok) continue
    t.match(r.errors, [{ code, file: path, line: 0, message }], glob)
  }
  t.match(compileFileGlob('{a,b/c}'), { ok: false, message: /cannot hold '\/'/ })
})

t.test(
  'file glob: any glob selects a name exactly when the rule path /d/<glob> matches /d/<name>',
  async (t) => {
    const piece = fc.constantFrom(
      'a',
      'b',
      '.',
      '-',
      '*',
      '?',
      '[ab]',
      '[!a]',
      '[.-b]',
      '{a,b}',
      '{a,}',
      '{*.,b?}',
    )
    const glob = fc.array(piece, { minLength: 1, maxLength: 5 }).map((p) => p.join(''))
    const name = fc
      .array(fc.constantFrom('a', 'b', '.', '-', 'c'), { minLength: 1, maxLength: 6 })
      .map((p) => p.join(''))
      .filter((n) => n !== '.' && n !== '..')
    t.doesNotThrow(() =>
      fc.assert(
        fc.property(glob, name, (g, n) => {
          const file = compileFileGlob(g)
          const text = `rules:\n  - id: r\n    path: ${JSON.stringify(`/d/${g}`)}\n    allow: anyone\n`
          const rules = buildRuleSet([{ file: 't.yaml', text }], options)
          if (!file.ok || !rules.ok) return file.ok === rules.ok || !file.ok
          return file.matches(n) === rules.ruleSet.decide(`/d/${n}`, { user: null, groups: [] }).allow
        }),
        { numRuns: 3000 },
      ),
    )
  },
)
