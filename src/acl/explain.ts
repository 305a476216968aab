import type { Decision, RuleSet, Subject } from './types.js'

/** A human-readable account of one decision: what, why, and which rule. Pure. */
export function explain(ruleSet: RuleSet, path: string, subject: Subject): string {
  return describeDecision(path, subject, ruleSet.decide(path, subject))
}

/** The text of a decision already made, for callers that also act on it. */
export function describeDecision(path: string, subject: Subject, d: Decision): string {
  const who = subject.user === null ? 'anonymous' : `user ${subject.user}`
  const groups = subject.groups.length > 0 ? `, groups ${subject.groups.join(', ')}` : ''
  const p = d.policy
  const lines = [
    `path:     ${path}`,
    `subject:  ${who}${groups}`,
    `decision: ${d.allow ? 'allow' : 'deny'} (${d.reason})`,
    d.rule === null
      ? `rule:     no rule matched; default effect applies`
      : `rule:     ${d.rule.id} at ${d.rule.file}:${d.rule.line}`,
    d.allow
      ? `policy:   disposition=${p.disposition} limit_rate=${p.limitRate === 0 ? 'unlimited' : `${p.limitRate} B/s`} cache_control="${p.cacheControl}"`
      : `policy:   refusal=${p.refusal}`,
  ]
  return `${lines.join('\n')}\n`
}
