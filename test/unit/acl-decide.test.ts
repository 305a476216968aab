import t from 'tap'
import {
  type AclOptions,
  buildRuleSet,
  DEFAULT_POLICY,
  type ResponsePolicy,
  type RuleSet,
  type Subject,
} from '../../src/acl/index.js'

const deny: AclOptions = { defaultEffect: 'deny', defaults: DEFAULT_POLICY }
const anon: Subject = { user: null, groups: [] }
const alice: Subject = { user: 'alice', groups: ['finance'] }
const bob: Subject = { user: 'bob', groups: [] }

function build(text: string | string[], options: AclOptions = deny): RuleSet {
  const texts = Array.isArray(text) ? text : [text]
  const r = buildRuleSet(
    texts.map((t, i) => ({ file: `f${i}.yaml`, text: t })),
    options,
  )
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.ruleSet
}

function oneRule(subject: string): RuleSet {
  return build(`rules:\n  - id: r\n    path: /x/**\n    allow: ${subject}\n`)
}

t.test('subject: anyone includes anonymous requests', async (t) => {
  const s = oneRule('anyone')
  t.equal(s.decide('/x/f', anon).allow, true)
  t.equal(s.decide('/x/f', bob).allow, true)
})

t.test('subject: authenticated admits any logged-in user but not anonymous', async (t) => {
  const s = oneRule('authenticated')
  t.equal(s.decide('/x/f', bob).allow, true)
  t.equal(s.decide('/x/f', anon).allow, false)
})

t.test('subject: user:<id> admits only that user', async (t) => {
  const s = oneRule('user:alice')
  t.equal(s.decide('/x/f', alice).allow, true)
  t.equal(s.decide('/x/f', bob).allow, false)
})

t.test('subject: group:<name> admits members of that group', async (t) => {
  const s = oneRule('group:finance')
  t.equal(s.decide('/x/f', alice).allow, true)
  t.equal(s.decide('/x/f', bob).allow, false)
})

t.test('subject: a list admits anyone matching one entry', async (t) => {
  const s = oneRule('[user:bob, group:finance]')
  t.equal(s.decide('/x/f', alice).allow, true)
  t.equal(s.decide('/x/f', bob).allow, true)
  t.equal(s.decide('/x/f', { user: 'carol', groups: ['hr'] }).allow, false)
})

t.test('subject: a long user list (looked up through a set) still matches', async (t) => {
  const users = Array.from({ length: 50 }, (_, i) => `user:u${i}`)
  const s = oneRule(`[${users.join(', ')}]`)
  t.equal(s.decide('/x/f', { user: 'u37', groups: [] }).allow, true)
  t.equal(s.decide('/x/f', { user: 'u50', groups: [] }).allow, false)
})

t.test('decide: the first matching rule wins, in file order', async (t) => {
  const s = build(
    'rules:\n  - id: no-drafts\n    path: /r/drafts/**\n    deny: anyone\n  - id: reports\n    path: /r/**\n    allow: anyone\n',
  )
  const d = s.decide('/r/drafts/x.pdf', alice)
  t.equal(d.allow, false)
  t.equal(d.reason, 'GW_DENY_RULE')
  t.same(d.rule, { id: 'no-drafts', file: 'f0.yaml', line: 2 })
  t.equal(s.decide('/r/final/x.pdf', alice).rule?.id, 'reports')
})

t.test('decide: an earlier file comes before a later one in rule order', async (t) => {
  const s = build([
    'rules:\n  - id: first\n    path: /a/**\n    deny: anyone\n',
    'rules:\n  - id: second\n    path: /a/b/**\n    allow: anyone\n',
  ])
  t.equal(s.decide('/a/b/c', anon).rule?.id, 'first')
})

t.test('decide: a rule whose subjects exclude the requester is skipped, the next one applies', async (t) => {
  const s = build(
    'rules:\n  - id: fin\n    path: /a/**\n    allow: group:finance\n  - id: rest\n    path: /a/**\n    deny: anyone\n',
  )
  t.equal(s.decide('/a/x', alice).rule?.id, 'fin')
  t.equal(s.decide('/a/x', bob).rule?.id, 'rest')
})

t.test('decide: no match with defaultEffect deny gives GW_DENY_DEFAULT and the default policy', async (t) => {
  const s = build('rules:\n  - id: r\n    path: /a/**\n    allow: anyone\n')
  const d = s.decide('/b', anon)
  t.same(d, { allow: false, reason: 'GW_DENY_DEFAULT', rule: null, policy: DEFAULT_POLICY })
})

t.test('decide: no match with defaultEffect allow gives GW_ALLOW_DEFAULT', async (t) => {
  const defaults: ResponsePolicy = { ...DEFAULT_POLICY, refusal: 404 }
  const s = build('rules:\n  - id: r\n    path: /a/**\n    deny: anyone\n', {
    defaultEffect: 'allow',
    defaults,
  })
  const d = s.decide('/b', anon)
  t.same(d, { allow: true, reason: 'GW_ALLOW_DEFAULT', rule: null, policy: defaults })
})

t.test('policy: a rule without policy fields takes options.defaults', async (t) => {
  const s = build('rules:\n  - id: r\n    path: /a/**\n    allow: anyone\n')
  t.same(s.decide('/a/x', anon).policy, DEFAULT_POLICY)
})

t.test('policy: file defaults override options.defaults, rule fields override file defaults', async (t) => {
  const s = build(`defaults:
  disposition: inline
  limit_rate: 1m
rules:
  - id: plain
    path: /a/**
    allow: anyone
  - id: own
    path: /b/**
    allow: anyone
    limit_rate: 0
    cache_control: "private, max-age=60"
    refusal: 404
`)
  t.same(s.decide('/a/x', anon).policy, {
    disposition: 'inline',
    limitRate: 1024 * 1024,
    cacheControl: DEFAULT_POLICY.cacheControl,
    refusal: 403,
  })
  t.same(s.decide('/b/x', anon).policy, {
    disposition: 'inline',
    limitRate: 0,
    cacheControl: 'private, max-age=60',
    refusal: 404,
  })
})

t.test('policy: file defaults apply only to the rules of that file', async (t) => {
  const s = build([
    'defaults:\n  refusal: 404\nrules:\n  - id: a\n    path: /a/**\n    deny: anyone\n',
    'rules:\n  - id: b\n    path: /b/**\n    deny: anyone\n',
  ])
  t.equal(s.decide('/a/x', anon).policy.refusal, 404)
  t.equal(s.decide('/b/x', anon).policy.refusal, 403)
})

t.test('policy: limit_rate accepts numbers and k/m/g suffixes (1024-based)', async (t) => {
  const rate = (v: string): number =>
    build(`rules:\n  - id: r\n    path: /a/**\n    allow: anyone\n    limit_rate: ${v}\n`).decide(
      '/a/x',
      anon,
    ).policy.limitRate
  t.equal(rate('2048'), 2048)
  t.equal(rate('512k'), 512 * 1024)
  t.equal(rate('2M'), 2 * 1024 ** 2)
  t.equal(rate('1g'), 1024 ** 3)
  t.equal(rate('1.5k'), 1536)
})

t.test('policy: a deny rule carries its refusal', async (t) => {
  const s = build('rules:\n  - id: hide\n    path: /secret/**\n    deny: anyone\n    refusal: 404\n')
  t.equal(s.decide('/secret/x', anon).policy.refusal, 404)
})

t.test(
  'decide: never throws on odd input, and refuses non-canonical paths even with default allow',
  async (t) => {
    const s = build('rules:\n  - id: r\n    path: /secret/**\n    deny: anyone\n', {
      defaultEffect: 'allow',
      defaults: DEFAULT_POLICY,
    })
    const odd: unknown[] = ['', 'secret/x', '/secret/../x', '/a//b', '/a/./b', '/a/', '//', '/..']
    for (const path of odd) {
      const d = s.decide(path as string, anon)
      t.equal(d.allow, false, `refuses ${JSON.stringify(path)}`)
      t.equal(d.reason, 'GW_DENY_DEFAULT')
    }
    t.equal(s.decide(undefined as unknown as string, anon).allow, false)
    t.equal(s.decide(42 as unknown as string, anon).allow, false)
    t.equal(s.decide('/x', { user: null, groups: undefined } as unknown as Subject).allow, true)
    t.equal(s.decide('/x', null as unknown as Subject).allow, true)
    t.equal(s.decide('/a/\u0000/\uffff/%2e%2e', anon).allow, true)
  },
)

t.test(
  'decide: malformed subjects never throw: null is refused, groups that are not a list count as none',
  async (t) => {
    const s = build('rules:\n  - id: r\n    path: /a/**\n    allow: group:g\n', {
      defaultEffect: 'allow',
      defaults: DEFAULT_POLICY,
    })
    t.doesNotThrow(() => s.decide('/a/x', { user: 'u', groups: 7 } as unknown as Subject))
    t.equal(
      s.decide('/a/x', { user: 'u', groups: 7 } as unknown as Subject).allow,
      true,
      'the group rule does not match; the default (allow here) decides',
    )
    t.equal(s.decide('/a/x', null as unknown as Subject).allow, false)
  },
)

t.test('ruleSet: reports its rule count and files', async (t) => {
  const s = build([
    'rules:\n  - id: a\n    path: /a\n    allow: anyone\n',
    'rules:\n  - id: b\n    path: /b\n    allow: anyone\n  - id: c\n    path: /c\n    allow: anyone\n',
  ])
  t.equal(s.ruleCount, 3)
  t.same(s.files, ['f0.yaml', 'f1.yaml'])
})

t.test('segments are matched exactly as the path spells them: case, dots and the root', async (t) => {
  const s = build(
    'rules:\n  - id: upper\n    path: /Reports/Q1.pdf\n    allow: anyone\n  - id: root\n    path: /\n    allow: anyone\n',
  )
  t.equal(s.decide('/Reports/Q1.pdf', anon).allow, true)
  t.equal(s.decide('/reports/Q1.pdf', anon).allow, false, 'a folder in another case is another folder')
  t.equal(s.decide('/Reports/q1.PDF', anon).allow, false, 'a name in another case is another name')
  t.equal(s.decide('/Reports/Q1.pdf/', anon).allow, false, 'a trailing slash is not canonical')
  t.equal(s.decide('/Reports/./Q1.pdf', anon).allow, false)
  t.equal(s.decide('/x/../Reports/Q1.pdf', anon).allow, false)
  t.equal(s.decide('/', anon).allow, true, 'the root is matched as the root')
  t.equal(s.decide('/...', anon).allow, false, 'three dots are a name, matched by no rule here')
})
