import t from 'tap'
import { buildRuleSet, DEFAULT_POLICY, explain, type RuleSet } from '../../src/acl/index.js'

function ruleSet(): RuleSet {
  const text = `rules:
  - id: hide-drafts
    path: /r/drafts/**
    deny: anyone
    refusal: 404
  - id: fin
    path: /r/**
    allow: group:finance
    disposition: inline
    limit_rate: 1k
`
  const r = buildRuleSet([{ file: 'acl/r.yaml', text }], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.ruleSet
}

t.test('explain: an allow names the rule with file:line and the delivery policy', async (t) => {
  const out = explain(ruleSet(), '/r/q1.pdf', { user: 'alice', groups: ['finance'] })
  t.equal(
    out,
    [
      'path:     /r/q1.pdf',
      'subject:  user alice, groups finance',
      'decision: allow (GW_ALLOW_RULE)',
      'rule:     fin at acl/r.yaml:6',
      'policy:   disposition=inline limit_rate=1024 B/s cache_control="private, no-store"',
      '',
    ].join('\n'),
  )
})

t.test('explain: a deny by rule names the rule and the refusal status', async (t) => {
  const out = explain(ruleSet(), '/r/drafts/x', { user: null, groups: [] })
  t.match(out, 'subject:  anonymous')
  t.match(out, 'decision: deny (GW_DENY_RULE)')
  t.match(out, 'rule:     hide-drafts at acl/r.yaml:2')
  t.match(out, 'policy:   refusal=404')
})

t.test('explain: no matching rule says so and shows the default reason', async (t) => {
  const out = explain(ruleSet(), '/elsewhere', { user: 'bob', groups: [] })
  t.match(out, 'decision: deny (GW_DENY_DEFAULT)')
  t.match(out, 'rule:     no rule matched; default effect applies')
})
