import t, { type Test } from 'tap'
import { type AclProblem, buildRuleSet, DEFAULT_POLICY } from '../../src/acl/index.js'

function warnings(t: Test, rules: string): AclProblem[] {
  const r = buildRuleSet([{ file: 'l.yaml', text: `rules:\n${rules}` }], {
    defaultEffect: 'deny',
    defaults: DEFAULT_POLICY,
  })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  t.same(r.ruleSet.warnings, r.warnings, 'the rule set carries the same warnings')
  return r.warnings
}

const rule = (id: string, path: string, effect: string): string =>
  `  - id: ${id}\n    path: ${JSON.stringify(path)}\n    ${effect}\n`

t.test('lint: a rule inside an earlier rule for anyone is shadowed', async (t) => {
  const w = warnings(t, rule('all', '/a/**', 'allow: anyone') + rule('sub', '/a/b/*.pdf', 'deny: group:x'))
  t.match(w, [
    { severity: 'warning', code: 'GW_ACL_SHADOWED', line: 5, message: /'sub'.*'all' at l\.yaml:2/ },
  ])
})

t.test('lint: the same subjects and a containing pattern shadow', async (t) => {
  const w = warnings(t, rule('g', '/a/*', 'allow: [group:x, user:u]') + rule('h', '/a/b', 'allow: group:x'))
  t.match(w, [{ code: 'GW_ACL_SHADOWED', message: /'h'/ }])
})

t.test('lint: authenticated covers named users', async (t) => {
  const w = warnings(t, rule('auth', '/a/**', 'deny: authenticated') + rule('u', '/a/x', 'allow: user:bob'))
  t.match(w, [{ code: 'GW_ACL_SHADOWED' }])
})

t.test('lint: a glob segment containing a literal shadows it', async (t) => {
  const w = warnings(
    t,
    rule('pdfs', '/a/**/*.pdf', 'allow: anyone') + rule('one', '/a/b/c.pdf', 'allow: anyone'),
  )
  t.match(w, [{ code: 'GW_ACL_SHADOWED' }])
})

t.test('lint: a rule is shadowed only when all of its patterns are covered', async (t) => {
  const w = warnings(t, rule('a', '/a/**', 'allow: anyone') + rule('ab', '{/a/x,/b/x}', 'allow: anyone'))
  t.same(w, [])
})

t.test('lint: narrower subjects earlier do not shadow', async (t) => {
  const w = warnings(t, rule('x', '/a/**', 'allow: group:x') + rule('y', '/a/b', 'allow: group:y'))
  t.same(w, [])
})

t.test('lint: a later rule with the opposite effect inside an earlier one overlaps', async (t) => {
  const w = warnings(
    t,
    rule('fin', '/r/**', 'allow: group:finance') + rule('drafts', '/r/drafts/**', 'deny: anyone'),
  )
  t.match(w, [{ code: 'GW_ACL_OVERLAP', line: 5, message: /'drafts' \(deny\).*'fin' \(allow\)/ }])
})

t.test('lint: a narrow exception before a broad rule is the intended idiom, not reported', async (t) => {
  const w = warnings(
    t,
    rule('drafts', '/r/drafts/**', 'deny: anyone') + rule('fin', '/r/**', 'allow: group:finance'),
  )
  t.same(w, [])
})

t.test(
  'lint: the same path with the opposite effect for everyone else is an idiom, not reported',
  async (t) => {
    const w = warnings(
      t,
      rule('fin', '/r/finance-*', 'allow: group:finance') + rule('rest', '/r/finance-*', 'deny: anyone'),
    )
    t.same(w, [])
  },
)

t.test('lint: placeholders only contain the same placeholder', async (t) => {
  const w = warnings(
    t,
    rule('home', '/home/{user}/**', 'allow: anyone') + rule('bob', '/home/bob/x', 'deny: anyone'),
  )
  t.same(w, [], 'bob may not be the requester: /home/{user} does not contain /home/bob')
  const w2 = warnings(
    t,
    rule('home', '/home/{user}/**', 'allow: anyone') + rule('docs', '/home/{user}/docs/**', 'allow: anyone'),
  )
  t.match(w2, [{ code: 'GW_ACL_SHADOWED' }])
})

t.test('lint: patterns that merely intersect are not reported (only certain cases are)', async (t) => {
  const w = warnings(t, rule('x', '/a/x*', 'allow: anyone') + rule('pdf', '/a/*.pdf', 'deny: anyone'))
  t.same(w, [])
})

t.test('lint: a trailing ** does not contain its folder, so /a is not shadowed by /a/**', async (t) => {
  const w = warnings(t, rule('all', '/a/**', 'allow: anyone') + rule('dir', '/a', 'allow: anyone'))
  t.same(w, [])
})

// Bounded by a cap on the pairs it compares, not by a clock: speed is the benchmarks' business.
t.test('lint: checks stay bounded with many rules under one prefix', async (t) => {
  let rules = ''
  for (let i = 0; i < 5000; i++) rules += rule(`r${i}`, `/shared/*-${i}.pdf`, 'allow: anyone')
  rules += rule('last', '/shared/x-1.pdf', 'deny: anyone')
  const w = warnings(t, rules)
  t.ok(
    w.some((p) => p.code === 'GW_ACL_LINT_CAPPED'),
    'says the checks were capped',
  )
})
