import { join } from 'node:path'
import t from 'tap'
import { type AclOptions, DEFAULT_POLICY, loadRuleSet } from '../../src/acl/index.js'

const dir = join(import.meta.dirname, '..', 'fixtures', 'acl', 'errors')
const options: AclOptions = { defaultEffect: 'deny', defaults: DEFAULT_POLICY }

// fixture -> the one error it must produce: code, 1-based line, field path.
const cases: [string, string, number, string][] = [
  ['yaml-syntax.yaml', 'GW_ACL_YAML_SYNTAX', 5, ''],
  ['not-mapping.yaml', 'GW_ACL_NOT_MAPPING', 2, ''],
  ['no-rules.yaml', 'GW_ACL_NO_RULES', 1, 'rules'],
  ['unknown-field.yaml', 'GW_ACL_UNKNOWN_FIELD', 4, 'rules[0].owner'],
  ['unknown-top-field.yaml', 'GW_ACL_UNKNOWN_FIELD', 5, 'rulez'],
  ['rule-not-mapping.yaml', 'GW_ACL_RULE_NOT_MAPPING', 5, 'rules[1]'],
  ['missing-id.yaml', 'GW_ACL_MISSING_ID', 5, 'rules[1].id'],
  ['bad-id.yaml', 'GW_ACL_BAD_ID', 2, 'rules[0].id'],
  ['missing-path.yaml', 'GW_ACL_MISSING_PATH', 2, 'rules[0].path'],
  ['allow-deny-neither.yaml', 'GW_ACL_ALLOW_DENY', 2, 'rules[0]'],
  ['allow-deny-both.yaml', 'GW_ACL_ALLOW_DENY', 2, 'rules[0]'],
  ['bad-subject.yaml', 'GW_ACL_BAD_SUBJECT', 4, 'rules[0].allow[1]'],
  ['bad-pattern-bracket.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-brace.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-empty-segment.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-no-slash.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-globstar.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-dot.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['bad-pattern-dotdot.yaml', 'GW_ACL_BAD_PATTERN', 3, 'rules[0].path'],
  ['unknown-placeholder.yaml', 'GW_ACL_UNKNOWN_PLACEHOLDER', 3, 'rules[0].path'],
  ['bad-disposition.yaml', 'GW_ACL_BAD_DISPOSITION', 5, 'rules[0].disposition'],
  ['bad-limit-rate.yaml', 'GW_ACL_BAD_LIMIT_RATE', 5, 'rules[0].limit_rate'],
  ['bad-cache-control-crlf.yaml', 'GW_ACL_BAD_CACHE_CONTROL', 5, 'rules[0].cache_control'],
  ['bad-cache-control-non-ascii.yaml', 'GW_ACL_BAD_CACHE_CONTROL', 5, 'rules[0].cache_control'],
  ['bad-refusal.yaml', 'GW_ACL_BAD_REFUSAL', 5, 'rules[0].refusal'],
  ['bad-defaults.yaml', 'GW_ACL_BAD_LIMIT_RATE', 2, 'defaults.limit_rate'],
]

for (const [name, code, line, field] of cases) {
  t.test(`load: ${name} fails with ${code} at line ${line}`, async (t) => {
    const file = join(dir, name)
    const r = await loadRuleSet([file], options)
    t.equal(r.ok, false)
    if (r.ok) return
    t.equal(r.errors.length, 1, `exactly one error: ${JSON.stringify(r.errors)}`)
    t.match(r.errors[0], { severity: 'error', code, file, line, field, message: /\S/ })
  })
}

t.test('load: a duplicate id across files names both places', async (t) => {
  const a = join(dir, 'duplicate-id-a.yaml')
  const b = join(dir, 'duplicate-id-b.yaml')
  const r = await loadRuleSet([a, b], options)
  t.equal(r.ok, false)
  if (r.ok) return
  t.equal(r.errors.length, 1)
  t.match(r.errors[0], { code: 'GW_ACL_DUPLICATE_ID', file: b, line: 6, field: 'rules[1].id' })
  t.match(r.errors[0]?.message, `${a}:2`)
})

t.test('load: every problem of a file is reported at once, in line order', async (t) => {
  const r = await loadRuleSet([join(dir, 'many-problems.yaml')], options)
  t.equal(r.ok, false)
  if (r.ok) return
  t.same(
    r.errors.map((e) => [e.code, e.line]),
    [
      ['GW_ACL_BAD_PATTERN', 4],
      ['GW_ACL_BAD_SUBJECT', 8],
      ['GW_ACL_MISSING_ID', 9],
      ['GW_ACL_BAD_REFUSAL', 14],
    ],
  )
})

t.test('load: problems from several files are all reported', async (t) => {
  const r = await loadRuleSet([join(dir, 'bad-refusal.yaml'), join(dir, 'yaml-syntax.yaml')], options)
  t.equal(r.ok, false)
  if (r.ok) return
  t.same(
    r.errors.map((e) => e.code),
    ['GW_ACL_BAD_REFUSAL', 'GW_ACL_YAML_SYNTAX'],
  )
})

t.test('load: a missing path is an error problem', async (t) => {
  const missing = join(dir, 'does-not-exist.yaml')
  const r = await loadRuleSet([missing], options)
  t.equal(r.ok, false)
  if (r.ok) return
  t.match(r.errors, [{ code: 'GW_ACL_PATH_NOT_FOUND', file: missing, line: 0 }])
})

t.test('load: a glob whose directory is missing is an error problem', async (t) => {
  const r = await loadRuleSet([join(dir, 'nope', '*.yaml')], options)
  t.equal(r.ok, false)
  if (r.ok) return
  t.match(r.errors, [{ code: 'GW_ACL_PATH_NOT_FOUND' }])
})
