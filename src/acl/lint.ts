import { AclCode, problem } from './codes.js'
import type { Entry, TrieNode } from './matcher.js'
import { ANY, type CompiledPattern, GLOB, GLOBSTAR, LIT, type Seg } from './pattern.js'
import type { RuleDef } from './rules.js'
import { covers } from './subjects.js'
import type { AclProblem } from './types.js'

// Warnings about rule order, checked with the matcher's index. A pattern A can only contain a
// pattern B if A's literal prefix is a prefix of B's, so the candidates for B are the earlier
// entries hung on the trie nodes along B's own literal prefix: no all-pairs comparison. The
// checks are conservative (a warning is certain, silence is not) and their work is capped.
//
// - GW_ACL_SHADOWED: every pattern of B lies inside a pattern of one earlier rule whose subjects
//   cover B's, so B can never decide anything.
// - GW_ACL_OVERLAP: B lies strictly inside an earlier rule A with the opposite effect, whose
//   subjects do not cover B's: for subjects both admit, A decides and B's effect never applies
//   (typically a deny for a subfolder placed after the allow for its parent). Not reported:
//   the same path with the opposite effect after it ("allow finance, 404 for everyone else"),
//   and a narrow earlier rule carving an exception out of a later broad one; both are idioms.

/** Candidate comparisons per pattern, and in total, before the lint gives up. */
export const LINT_CANDIDATES_PER_PATTERN = 256
export const LINT_BUDGET = 2_000_000

export function lintRules(rules: readonly RuleDef[], root: TrieNode): AclProblem[] {
  const warnings: AclProblem[] = []
  let budget = LINT_BUDGET
  let capped = false
  for (const rule of rules) {
    // Per B pattern, the earlier rules containing it; B is shadowed when one covering rule
    // contains all its patterns.
    let shadowers: Set<RuleDef> | null = null
    let overlap: RuleDef | null = null
    for (const pattern of rule.patterns) {
      const containing = new Set<RuleDef>()
      let seen = 0
      let node: TrieNode | undefined = root
      for (let depth = 0; node !== undefined && depth <= pattern.prefixLen; depth++) {
        for (const e of node.entries as Entry[]) {
          if (e.order >= rule.order) break
          if (++seen > LINT_CANDIDATES_PER_PATTERN || --budget < 0) {
            capped = true
            break
          }
          if (containing.has(e.rule) || !contains(e.pattern, pattern)) continue
          containing.add(e.rule)
          if (
            overlap === null &&
            e.rule.effect !== rule.effect &&
            !covers(e.rule.subjects, rule.subjects) &&
            !contains(pattern, e.pattern)
          ) {
            overlap = e.rule
          }
        }
        if (depth === pattern.prefixLen) break
        node = node.child((pattern.segs[depth] as Seg).text)
      }
      const covering = [...containing].filter((r) => covers(r.subjects, rule.subjects))
      shadowers = shadowers === null ? new Set(covering) : new Set(covering.filter((r) => shadowers?.has(r)))
    }
    const shadower = shadowers === null ? undefined : [...shadowers].sort((a, b) => a.order - b.order)[0]
    if (shadower !== undefined) {
      warnings.push(
        problem(
          'warning',
          AclCode.SHADOWED,
          rule.file,
          rule.line,
          '',
          `rule '${rule.id}' can never match: earlier rule '${shadower.id}' at ${shadower.file}:${shadower.line} matches all its paths and subjects first`,
        ),
      )
    } else if (overlap !== null) {
      warnings.push(
        problem(
          'warning',
          AclCode.OVERLAP,
          rule.file,
          rule.line,
          '',
          `rule '${rule.id}' (${rule.effect}) lies inside earlier rule '${overlap.id}' (${overlap.effect}) at ${overlap.file}:${overlap.line}: for subjects both admit (${overlap.subjects.text.join(', ')}), '${overlap.id}' decides`,
        ),
      )
    }
  }
  if (capped) {
    const first = rules[0]
    warnings.push(
      problem(
        'warning',
        AclCode.LINT_CAPPED,
        first?.file ?? '',
        0,
        '',
        'too many rules share a path prefix: shadow/overlap checks were cut short, some may be missing',
      ),
    )
  }
  return warnings
}

/** True only when every path `b` matches is certainly matched by `a` (for any subject). */
export function contains(a: CompiledPattern, b: CompiledPattern): boolean {
  if (b.minLen < a.minLen || b.maxLen > a.maxLen) return false
  const as = a.segs
  const bs = b.segs
  // memo[i * (bs.length + 1) + j]: 0 unknown, 1 true, 2 false. Patterns are short.
  const memo = new Uint8Array((as.length + 1) * (bs.length + 1))
  const go = (i: number, j: number): boolean => {
    const key = i * (bs.length + 1) + j
    const known = memo[key]
    if (known !== 0) return known === 1
    let r: boolean
    if (i === as.length) r = j === bs.length
    else if ((as[i] as Seg).kind === GLOBSTAR) r = go(i + 1, j) || (j < bs.length && go(i, j + 1))
    else if (j === bs.length || (bs[j] as Seg).kind === GLOBSTAR) r = false
    else r = segContains(as[i] as Seg, bs[j] as Seg) && go(i + 1, j + 1)
    memo[key] = r ? 1 : 2
    return r
  }
  return go(0, 0)
}

function segContains(a: Seg, b: Seg): boolean {
  if (a.kind === ANY) return true
  if (a.kind === LIT) return b.kind === LIT && a.text === b.text
  if (a.kind === GLOB) {
    if (b.kind === LIT) return (a.re as RegExp).test(b.text)
    return b.kind === GLOB && a.text === b.text
  }
  // Placeholders only contain the same placeholder: their match depends on the subject.
  return a.kind === b.kind
}
