import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { type AclOptions, DEFAULT_POLICY, loadRuleSet } from '../../src/acl/index.js'

const good = join(import.meta.dirname, '..', 'fixtures', 'acl', 'good')
const options: AclOptions = { defaultEffect: 'deny', defaults: DEFAULT_POLICY }

t.test('load: a directory takes its *.yaml files sorted by name, ignoring other files', async (t) => {
  const r = await loadRuleSet([good], options)
  t.equal(r.ok, true)
  if (!r.ok) return
  t.same(r.ruleSet.files, [join(good, '10-public.yaml'), join(good, '20-reports.yaml')])
  t.equal(r.ruleSet.ruleCount, 4)
})

t.test('load: a simple glob takes the matching files in name order', async (t) => {
  const r = await loadRuleSet([join(good, '2*.yaml')], options)
  t.equal(r.ok, true)
  if (!r.ok) return
  t.same(r.ruleSet.files, [join(good, '20-reports.yaml')])
})

t.test('load: merge order follows file names, so 10-x decides before 20-x', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acl-order-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, '20-late.yml'), 'rules:\n  - id: late\n    path: /a/**\n    deny: anyone\n')
  await writeFile(join(dir, '10-early.yaml'), 'rules:\n  - id: early\n    path: /a/**\n    allow: anyone\n')
  const r = await loadRuleSet([dir], options)
  t.equal(r.ok, true)
  if (!r.ok) return
  t.equal(r.ruleSet.decide('/a/x', { user: null, groups: [] }).rule?.id, 'early')
})

t.test('load: the same file listed twice is read once', async (t) => {
  const r = await loadRuleSet([good, join(good, '10-public.yaml')], options)
  t.equal(r.ok, true)
  if (!r.ok) return
  t.equal(r.ruleSet.files.length, 2)
})

t.test('load: an empty directory loads with a warning', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acl-empty-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const r = await loadRuleSet([dir], options)
  t.equal(r.ok, true)
  t.match(r.warnings, [{ code: 'GW_ACL_NO_FILES', file: dir }])
})

t.test('load: rule references carry the file and the line of the rule', async (t) => {
  const r = await loadRuleSet([good], options)
  if (!r.ok) throw new Error('fixture must load')
  const d = r.ruleSet.decide('/reports/2025/q1/x.pdf', { user: 'alice', groups: [] })
  t.same(d.rule, { id: 'finance-reports', file: join(good, '20-reports.yaml'), line: 6 })
  t.same(d.policy, {
    disposition: 'inline',
    limitRate: 524288,
    cacheControl: 'private, max-age=60',
    refusal: 403,
  })
})
