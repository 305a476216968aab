import { ANY, type CompiledPattern, GLOB, GLOBSTAR, GROUP, LIT, type Seg, USER } from './pattern.js'
import type { RuleDef } from './rules.js'
import { type SubjectSet, subjectMatches } from './subjects.js'
import type { Decision, Subject } from './types.js'

// The rule index. Each expanded pattern hangs at the trie node of its literal leading segments
// (`/customers/c42/**` at customers -> c42). A request walks its own segments down the trie and
// only tests the patterns hung on that walk, so the cost follows the path depth and the number
// of rules sharing its prefix, not the total rule count. Each node's list is in rule order, and
// a list is abandoned as soon as it reaches a rule later than the best match found so far, so the
// first matching rule in file order wins exactly as in a linear scan.

export interface Entry {
  readonly order: number
  readonly rule: RuleDef
  readonly subjects: SubjectSet
  readonly decision: Decision
  readonly pattern: CompiledPattern
  readonly segs: readonly Seg[]
  readonly minLen: number
  readonly maxLen: number
}

export class TrieNode {
  children: Map<string, TrieNode> | null = null
  readonly entries: Entry[] = []

  child(segment: string): TrieNode | undefined {
    return this.children?.get(segment)
  }

  childOrCreate(segment: string): TrieNode {
    if (this.children === null) this.children = new Map()
    let next = this.children.get(segment)
    if (next === undefined) {
      next = new TrieNode()
      this.children.set(segment, next)
    }
    return next
  }
}

/** Rules must come in rule order so every node's list stays sorted. */
export function buildIndex(rules: readonly RuleDef[], decisionOf: (rule: RuleDef) => Decision): TrieNode {
  const root = new TrieNode()
  for (const rule of rules) {
    const decision = decisionOf(rule)
    for (const pattern of rule.patterns) {
      let node = root
      for (let i = 0; i < pattern.prefixLen; i++) node = node.childOrCreate((pattern.segs[i] as Seg).text)
      node.entries.push({
        order: rule.order,
        rule,
        subjects: rule.subjects,
        decision,
        pattern,
        segs: pattern.segs,
        minLen: pattern.minLen,
        maxLen: pattern.maxLen,
      })
    }
  }
  return root
}

/**
 * The first rule (in rule order) matching a canonical path, or null.
 * `parts` is `path.split('/')`: parts[0] is the empty string before the leading slash.
 */
export function findMatch(root: TrieNode, parts: readonly string[], subject: Subject): Entry | null {
  const len = parts.length - 1
  let best: Entry | null = null
  let bestOrder = Number.POSITIVE_INFINITY
  let node: TrieNode | undefined = root
  for (let depth = 0; node !== undefined; depth++) {
    const entries: Entry[] = node.entries
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry
      if (e.order >= bestOrder) break
      if (len < e.minLen || len > e.maxLen) continue
      if (!subjectMatches(e.subjects, subject)) continue
      if (matchSegs(e.segs, depth, parts, depth + 1, subject)) {
        best = e
        bestOrder = e.order
        break
      }
    }
    if (depth === len) break
    node = node.child(parts[depth + 1] as string)
  }
  return best
}

/**
 * Matches segs[si..] against parts[pi..]. Every non-`**` matcher takes exactly one segment, so
 * the classic wildcard algorithm applies: on a mismatch, let the most recent `**` take one more
 * segment and retry. That is linear-ish and never recurses.
 */
export function matchSegs(
  segs: readonly Seg[],
  si: number,
  parts: readonly string[],
  pi: number,
  subject: Subject,
): boolean {
  let starSi = -1
  let starPi = 0
  const n = parts.length
  while (pi < n) {
    if (si < segs.length) {
      const s = segs[si] as Seg
      if (s.kind === GLOBSTAR) {
        starSi = si++
        starPi = pi
        continue
      }
      if (segMatches(s, parts[pi] as string, subject)) {
        si++
        pi++
        continue
      }
    }
    if (starSi < 0) return false
    si = starSi + 1
    pi = ++starPi
  }
  while (si < segs.length && (segs[si] as Seg).kind === GLOBSTAR) si++
  return si === segs.length
}

/** Whether one path segment matches one compiled pattern segment other than `**`. */
export function segMatches(s: Seg, part: string, subject: Subject): boolean {
  switch (s.kind) {
    case LIT:
      return s.text === part
    case ANY:
      return true
    case GLOB:
      return (s.re as RegExp).test(part)
    case USER:
      return subject.user !== null && subject.user === part
    case GROUP:
      return subject.groups.includes(part)
    default:
      return false
  }
}
