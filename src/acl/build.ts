import { AclCode, problem } from './codes.js'
import { lintRules } from './lint.js'
import { buildIndex, findMatch, type TrieNode } from './matcher.js'
import type { Seg } from './pattern.js'
import { readYaml } from './read-yaml.js'
import { FileReader, type IdSeen, type RuleDef } from './rules.js'
import type { SubjectSet } from './subjects.js'
import type { AclOptions, AclProblem, AclSource, BuildResult, Decision, RuleSet, Subject } from './types.js'

/**
 * Sources (in merge order) -> a rule set, or every problem found. Pure: no I/O, no clock.
 * Rule order is the files' order, then the order inside each file; first match wins.
 */
export function buildRuleSet(sources: readonly AclSource[], options: AclOptions): BuildResult {
  const problems: AclProblem[] = []
  const ids = new Map<string, IdSeen>()
  const rules: RuleDef[] = []
  const globCache = new Map<string, Seg>()
  const subjectCache = new Map<string, SubjectSet>()
  for (const source of sources) {
    const read = readYaml(source.text)
    if (!read.ok) {
      problems.push(problem('error', AclCode.YAML_SYNTAX, source.file, read.line, '', read.message))
      continue
    }
    const first = problems.length
    const reader = new FileReader(source.file, problems, ids, globCache, subjectCache)
    for (const rule of reader.read(read.root, options.defaults, rules.length)) rules.push(rule)
    // Operators read a file top to bottom: list its problems by line (the sort is stable).
    problems.splice(first, problems.length - first, ...problems.slice(first).sort((a, b) => a.line - b.line))
  }
  const errors = problems.filter((p) => p.severity === 'error')
  const loadWarnings = problems.filter((p) => p.severity === 'warning')
  if (errors.length > 0) return { ok: false, errors, warnings: loadWarnings }
  const root = buildIndex(rules, ruleDecision)
  const warnings = [...loadWarnings, ...lintRules(rules, root)]
  const ruleSet = new IndexedRuleSet(
    root,
    rules.length,
    sources.map((s) => s.file),
    warnings,
    defaultDecision(options),
  )
  return { ok: true, ruleSet, warnings }
}

function ruleDecision(rule: RuleDef): Decision {
  const allow = rule.effect === 'allow'
  return Object.freeze({
    allow,
    reason: allow ? 'GW_ALLOW_RULE' : 'GW_DENY_RULE',
    rule: Object.freeze({ id: rule.id, file: rule.file, line: rule.line }),
    policy: rule.policy,
  })
}

export function defaultDecision(options: AclOptions): Decision {
  const allow = options.defaultEffect === 'allow'
  return Object.freeze({
    allow,
    reason: allow ? 'GW_ALLOW_DEFAULT' : 'GW_DENY_DEFAULT',
    rule: null,
    policy: options.defaults,
  })
}

class IndexedRuleSet implements RuleSet {
  readonly files: readonly string[]
  readonly warnings: readonly AclProblem[]
  // What a path that is not canonical gets, whatever the default effect: a caller bug must not
  // slip past a deny rule written for the canonical form.
  private readonly refuse: Decision

  constructor(
    private readonly root: TrieNode,
    readonly ruleCount: number,
    files: readonly string[],
    warnings: readonly AclProblem[],
    private readonly fallback: Decision,
  ) {
    this.files = Object.freeze([...files])
    this.warnings = Object.freeze([...warnings])
    this.refuse = fallback.allow
      ? Object.freeze({ ...fallback, allow: false, reason: 'GW_DENY_DEFAULT' })
      : fallback
  }

  decide(path: string, subject: Subject): Decision {
    try {
      const parts = typeof path === 'string' ? canonicalParts(path) : null
      if (parts === null) return this.refuse
      const match = findMatch(this.root, parts, subject)
      return match === null ? this.fallback : match.decision
    } catch {
      // Only reachable with a malformed subject (e.g. groups not an array).
      return this.refuse
    }
  }
}

// The root's parts: the trie's root node alone, not an empty child of it.
const ROOT_PARTS: readonly string[] = ['']

/**
 * `path.split('/')` (for `/` the root's parts) when the path is canonical (starts with `/`, no
 * empty, `.` or `..` segment), else null. One scan does both: the check and a split after it cost
 * a download two passes over the path.
 */
export function canonicalParts(path: string): readonly string[] | null {
  const n = path.length
  if (n === 0 || path.charCodeAt(0) !== 47) return null
  if (n === 1) return ROOT_PARTS
  const parts = ['']
  let segStart = 1
  for (let i = 1; i <= n; i++) {
    if (i === n || path.charCodeAt(i) === 47) {
      const len = i - segStart
      if (len === 0) return null
      if (
        len <= 2 &&
        path.charCodeAt(segStart) === 46 &&
        (len === 1 || path.charCodeAt(segStart + 1) === 46)
      ) {
        return null
      }
      parts.push(path.slice(segStart, i))
      segStart = i + 1
    }
  }
  return parts
}
