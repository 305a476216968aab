// `share: {max_ttl: ...}` on a rule: how long a reader may share a file by link. Not shareable
// unless a rule (or its file's defaults) says so.
import t from 'tap'
import { buildRuleSet, DEFAULT_POLICY, type RuleSet } from '../../src/acl/index.js'

function build(text: string): RuleSet {
  const r = buildRuleSet([{ file: '/acl/x.yaml', text }], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.ruleSet
}

function errorsOf(text: string) {
  const r = buildRuleSet([{ file: '/acl/x.yaml', text }], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  return r.ok ? [] : r.errors
}

const alice = { user: 'alice', groups: [] }

t.test('a rule may let its readers share, in flow or block form, and files inherit defaults', async (t) => {
  const s = build(`rules:
  - id: flow
    path: /a/**
    allow: authenticated
    share: {max_ttl: 7d}
  - id: block
    path: /b/**
    allow: authenticated
    share:
      max_ttl: 12h
  - id: none
    path: /c/**
    allow: authenticated
`)
  t.equal(s.decide('/a/x', alice).policy.shareMaxTtl, 7 * 86_400)
  t.equal(s.decide('/b/x', alice).policy.shareMaxTtl, 12 * 3600)
  t.equal(s.decide('/c/x', alice).policy.shareMaxTtl, undefined, 'not shareable by default')
  const d = build(
    `defaults:\n  share: {max_ttl: 1d}\nrules:\n  - id: r\n    path: /d/**\n    allow: anyone\n`,
  )
  t.equal(d.decide('/d/x', alice).policy.shareMaxTtl, 86_400)
})

t.test('a bad share policy is a load error at its line', async (t) => {
  const base = 'rules:\n  - id: r\n    path: /a/**\n    allow: anyone\n'
  t.match(errorsOf(`${base}    share: {max_ttl: soon}\n`), [
    { code: 'GW_ACL_BAD_SHARE', line: 5, field: 'rules[0].share' },
  ])
  t.match(errorsOf(`${base}    share: {ttl: 7d}\n`), [{ code: 'GW_ACL_BAD_SHARE' }])
  t.match(errorsOf(`${base}    share: 7d\n`), [{ code: 'GW_ACL_BAD_SHARE', message: /max_ttl/ }])
})
