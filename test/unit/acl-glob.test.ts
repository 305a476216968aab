import t from 'tap'
import { buildRuleSet, DEFAULT_POLICY, type RuleSet, type Subject } from '../../src/acl/index.js'

const anon: Subject = { user: null, groups: [] }

/** A rule set allowing anyone on `path`, default deny. */
function allowOn(path: string | string[]): RuleSet {
  const text = `rules:\n  - id: r\n    path: ${JSON.stringify(path)}\n    allow: anyone\n`
  const r = buildRuleSet([{ file: 't.yaml', text }], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.ruleSet
}

function matches(set: RuleSet, path: string, subject: Subject = anon): boolean {
  return set.decide(path, subject).reason === 'GW_ALLOW_RULE'
}

t.test('glob: a literal pattern matches only that exact path', async (t) => {
  const s = allowOn('/a/b.txt')
  t.ok(matches(s, '/a/b.txt'))
  t.notOk(matches(s, '/a/b.txt/c'))
  t.notOk(matches(s, '/a'))
  t.notOk(matches(s, '/a/B.txt'), 'case-sensitive')
})

t.test('glob: * matches any run within one segment, including empty and a leading dot', async (t) => {
  const s = allowOn('/a/*.pdf')
  t.ok(matches(s, '/a/x.pdf'))
  t.ok(matches(s, '/a/.pdf'))
  t.notOk(matches(s, '/a/x/y.pdf'))
  t.notOk(matches(s, '/a/x.pdfx'))
})

t.test('glob: a lone * matches exactly one segment', async (t) => {
  const s = allowOn('/a/*')
  t.ok(matches(s, '/a/x'))
  t.notOk(matches(s, '/a'))
  t.notOk(matches(s, '/a/x/y'))
})

t.test('glob: ? matches exactly one character', async (t) => {
  const s = allowOn('/a/file?.txt')
  t.ok(matches(s, '/a/file1.txt'))
  t.ok(matches(s, '/a/fileé.txt'), 'one code point, not one UTF-16 unit')
  t.ok(matches(s, '/a/file😀.txt'), 'astral character counts as one')
  t.notOk(matches(s, '/a/file.txt'))
  t.notOk(matches(s, '/a/file12.txt'))
})

t.test('glob: trailing ** matches one or more segments but not the folder itself', async (t) => {
  const s = allowOn('/a/**')
  t.ok(matches(s, '/a/x'))
  t.ok(matches(s, '/a/x/y/z'))
  t.notOk(matches(s, '/a'))
  t.notOk(matches(s, '/ab/x'))
})

t.test('glob: ** in the middle matches zero or more segments', async (t) => {
  const s = allowOn('/a/**/b.txt')
  t.ok(matches(s, '/a/b.txt'))
  t.ok(matches(s, '/a/x/b.txt'))
  t.ok(matches(s, '/a/x/y/b.txt'))
  t.notOk(matches(s, '/a/x/y/c.txt'))
})

t.test('glob: leading /** matches every path but the root', async (t) => {
  const s = allowOn('/**')
  t.ok(matches(s, '/x'))
  t.ok(matches(s, '/x/y'))
  t.notOk(matches(s, '/'))
})

t.test('glob: several ** backtrack correctly', async (t) => {
  const s = allowOn('/**/x/**/y')
  t.ok(matches(s, '/x/y'))
  t.ok(matches(s, '/a/x/b/x/c/y'))
  t.notOk(matches(s, '/a/x/b/y/c'))
})

t.test('glob: [abc] and [a-z] match one character of the class', async (t) => {
  const s = allowOn(['/r/[abc].txt', '/n/[0-9][0-9].txt'])
  t.ok(matches(s, '/r/b.txt'))
  t.notOk(matches(s, '/r/d.txt'))
  t.ok(matches(s, '/n/42.txt'))
  t.notOk(matches(s, '/n/4x.txt'))
})

t.test('glob: [!a] matches any one character except those listed', async (t) => {
  const s = allowOn('/r/[!a]*.csv')
  t.ok(matches(s, '/r/b1.csv'))
  t.notOk(matches(s, '/r/a1.csv'))
})

t.test('glob: a ] right after [ is literal, so [*] matches a literal star', async (t) => {
  const s = allowOn(['/r/[]]', '/s/[*]'])
  t.ok(matches(s, '/r/]'))
  t.ok(matches(s, '/s/*'))
  t.notOk(matches(s, '/s/x'))
})

t.test('glob: {a,b} alternation matches either branch, nested too', async (t) => {
  const s = allowOn('/reports/{2025,2026}/*.{pdf,c{s,x}v}')
  t.ok(matches(s, '/reports/2025/q.pdf'))
  t.ok(matches(s, '/reports/2026/q.csv'))
  t.ok(matches(s, '/reports/2026/q.cxv'))
  t.notOk(matches(s, '/reports/2024/q.pdf'))
  t.notOk(matches(s, '/reports/2025/q.doc'))
})

t.test('glob: alternation may span segments', async (t) => {
  const s = allowOn('{/a/b,/c}/x')
  t.ok(matches(s, '/a/b/x'))
  t.ok(matches(s, '/c/x'))
  t.notOk(matches(s, '/a/x'))
})

t.test('glob: a list of patterns matches when any one matches', async (t) => {
  const s = allowOn(['/one/**', '/two.txt'])
  t.ok(matches(s, '/one/x'))
  t.ok(matches(s, '/two.txt'))
  t.notOk(matches(s, '/three'))
})

t.test('glob: regex metacharacters in a pattern are literal', async (t) => {
  const s = allowOn('/a/(x)+.$^|*.txt')
  t.ok(matches(s, '/a/(x)+.$^|y.txt'))
  t.notOk(matches(s, '/a/xx.txt'))
})

t.test('glob: patterns are NFC-normalised so a decomposed pattern matches the NFC path', async (t) => {
  const decomposed = '/caf\u0065\u0301/*.txt'
  const s = allowOn(decomposed)
  t.ok(matches(s, '/caf\u00e9/menu.txt'))
})

t.test('glob: the root pattern / matches only the root path', async (t) => {
  const s = allowOn('/')
  t.ok(matches(s, '/'))
  t.notOk(matches(s, '/a'))
})

t.test('placeholder: {user} binds the segment to the requester id', async (t) => {
  const s = allowOn('/home/{user}/**')
  t.ok(matches(s, '/home/alice/x.txt', { user: 'alice', groups: [] }))
  t.notOk(matches(s, '/home/bob/x.txt', { user: 'alice', groups: [] }))
  t.notOk(matches(s, '/home/alice/x.txt', anon), 'anonymous never binds {user}')
})

t.test('placeholder: {group} binds the segment to one of the requester groups', async (t) => {
  const s = allowOn('/teams/{group}/**')
  const subject = { user: 'alice', groups: ['red', 'blue'] }
  t.ok(matches(s, '/teams/blue/plan.txt', subject))
  t.notOk(matches(s, '/teams/green/plan.txt', subject))
})

function patternError(path: string): { code: string; message: string } | undefined {
  const text = `rules:\n  - id: r\n    path: ${JSON.stringify(path)}\n    allow: anyone\n`
  const r = buildRuleSet([{ file: 't.yaml', text }], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  return r.ok ? undefined : r.errors[0]
}

t.test('glob: a placeholder that is not a whole segment is a bad pattern', async (t) => {
  t.match(patternError('/home/x{user}/**'), { code: 'GW_ACL_BAD_PATTERN', message: /whole segment/ })
})

t.test('glob: {name} without a comma is an unknown placeholder', async (t) => {
  t.match(patternError('/a/{pdf}'), { code: 'GW_ACL_UNKNOWN_PLACEHOLDER', message: /\{pdf\}/ })
})

t.test('glob: an alternation expanding to more than 256 patterns is refused', async (t) => {
  t.match(patternError('/{a,b,c,d}/{a,b,c,d}/{a,b,c,d}/{a,b,c,d}/{a,b,c,d}'), {
    code: 'GW_ACL_BAD_PATTERN',
    message: /256/,
  })
  t.equal(patternError('/{a,b,c,d}/{a,b,c,d}/{a,b,c,d}/{a,b,c,d}'), undefined, '256 is still fine')
})

t.test('glob: a reversed range or a class holding / is a bad pattern', async (t) => {
  t.match(patternError('/a/[z-a]'), { code: 'GW_ACL_BAD_PATTERN', message: /range/ })
  t.match(patternError('/a/[x/]'), { code: 'GW_ACL_BAD_PATTERN' })
  t.match(patternError('/a/b}'), { code: 'GW_ACL_BAD_PATTERN', message: /'\}'/ })
})
