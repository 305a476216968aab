import { AclCode, problem } from './codes.js'
import { type CompiledPattern, compilePattern, type Seg } from './pattern.js'
import {
  applyPatch,
  POLICY_CODES,
  POLICY_FIELDS,
  type PolicyField,
  type PolicyPatch,
  readPolicyField,
} from './policy.js'
import { parseSubject, type SubjectSet, subjectSet } from './subjects.js'
import type { YMap, YNode } from './tree.js'
import type { AclProblem, ResponsePolicy } from './types.js'

// One ACL file's tree -> checked rule records. Every problem is collected; nothing stops early.

export interface RuleDef {
  readonly id: string
  readonly file: string
  readonly line: number
  /** Position in the merged rule list: first match in this order wins. */
  readonly order: number
  readonly effect: 'allow' | 'deny'
  readonly patterns: readonly CompiledPattern[]
  readonly subjects: SubjectSet
  readonly policy: ResponsePolicy
}

export interface IdSeen {
  readonly file: string
  readonly line: number
}

const TOP_FIELDS = new Set(['rules', 'defaults'])
const RULE_FIELDS = ['id', 'path', 'allow', 'deny', ...Object.keys(POLICY_FIELDS)]
const ID = /^[\x21-\x7e]{1,200}$/

export class FileReader {
  constructor(
    private readonly file: string,
    private readonly problems: AclProblem[],
    private readonly ids: Map<string, IdSeen>,
    private readonly globCache: Map<string, Seg> = new Map(),
    private readonly subjectCache: Map<string, SubjectSet> = new Map(),
  ) {}

  private error(code: Parameters<typeof problem>[1], line: number, field: string, message: string): void {
    this.problems.push(problem('error', code, this.file, line, field, message))
  }

  read(root: YNode | null, base: ResponsePolicy, firstOrder: number): RuleDef[] {
    if (root === null || root.kind !== 'map') {
      this.error(
        AclCode.NOT_MAPPING,
        root?.line ?? 0,
        '',
        'an ACL file must be a mapping with a `rules:` list',
      )
      return []
    }
    let rulesNode: YNode | undefined
    let filePolicy = base
    for (const e of root.entries) {
      if (!TOP_FIELDS.has(e.key)) {
        this.error(
          AclCode.UNKNOWN_FIELD,
          e.keyLine,
          e.key,
          `unknown top-level field '${e.key}' (allowed: rules, defaults)`,
        )
      } else if (e.key === 'rules') rulesNode = e.value
      else filePolicy = this.defaults(e.value, base)
    }
    if (rulesNode === undefined || rulesNode.kind !== 'seq') {
      const line = rulesNode?.line ?? root.line
      this.error(AclCode.NO_RULES, line, 'rules', 'the file needs a `rules:` list')
      return []
    }
    const out: RuleDef[] = []
    rulesNode.items.forEach((item, i) => {
      const rule = this.rule(item, `rules[${i}]`, filePolicy, firstOrder + out.length)
      if (rule !== null) out.push(rule)
    })
    return out
  }

  private defaults(node: YNode, base: ResponsePolicy): ResponsePolicy {
    if (node.kind !== 'map') {
      this.error(AclCode.NOT_MAPPING, node.line, 'defaults', '`defaults:` must be a mapping of policy fields')
      return base
    }
    const patch: PolicyPatch = {}
    for (const e of node.entries) {
      if (!(e.key in POLICY_FIELDS)) {
        const allowed = Object.keys(POLICY_FIELDS).join(', ')
        this.error(
          AclCode.UNKNOWN_FIELD,
          e.keyLine,
          `defaults.${e.key}`,
          `unknown field '${e.key}' (allowed: ${allowed})`,
        )
      } else this.policyField(e.key as PolicyField, e.value, `defaults.${e.key}`, patch)
    }
    return applyPatch(base, patch)
  }

  private policyField(field: PolicyField, node: YNode, path: string, patch: PolicyPatch): void {
    let value: unknown
    if (field === 'share') value = node.kind === 'map' ? shareMaxTtl(node) : '(not a mapping)'
    else value = node.kind === 'scalar' ? node.value : `(a ${node.kind === 'map' ? 'mapping' : 'list'})`
    const message = readPolicyField(field, value, patch)
    if (message !== null) this.error(POLICY_CODES[field], node.line, path, message)
  }

  private rule(node: YNode, at: string, filePolicy: ResponsePolicy, order: number): RuleDef | null {
    if (node.kind !== 'map') {
      this.error(
        AclCode.RULE_NOT_MAPPING,
        node.line,
        at,
        'each rule must be a mapping with id, path and allow or deny',
      )
      return null
    }
    const before = this.problems.length
    let idNode: YNode | undefined
    let pathNode: YNode | undefined
    let allow: YNode | undefined
    let deny: YNode | undefined
    const patch: PolicyPatch = {}
    // One pass, no per-rule maps: this loop runs 100,000 times at start-up.
    for (const e of node.entries) {
      switch (e.key) {
        case 'id':
          idNode = e.value
          break
        case 'path':
          pathNode = e.value
          break
        case 'allow':
          allow = e.value
          break
        case 'deny':
          deny = e.value
          break
        default:
          if (e.key in POLICY_FIELDS) {
            this.policyField(e.key as PolicyField, e.value, `${at}.${e.key}`, patch)
            break
          }
          this.error(
            AclCode.UNKNOWN_FIELD,
            e.keyLine,
            `${at}.${e.key}`,
            `unknown rule field '${e.key}' (allowed: ${RULE_FIELDS.join(', ')})`,
          )
      }
    }
    const id = this.id(idNode, node, at)
    const patterns = this.patterns(pathNode, node, at)
    let subjects: SubjectSet | null = null
    if ((allow === undefined) === (deny === undefined)) {
      const what = allow === undefined ? 'neither' : 'both'
      this.error(AclCode.ALLOW_DENY, node.line, at, `a rule needs exactly one of allow / deny (has ${what})`)
    } else {
      const key = allow !== undefined ? 'allow' : 'deny'
      subjects = this.subjects((allow ?? deny) as YNode, `${at}.${key}`)
    }
    if (this.problems.length !== before || id === null || patterns === null || subjects === null) return null
    return {
      id,
      file: this.file,
      line: node.line,
      order,
      effect: allow !== undefined ? 'allow' : 'deny',
      patterns,
      subjects,
      policy: applyPatch(filePolicy, patch),
    }
  }

  private id(node: YNode | undefined, rule: YMap, at: string): string | null {
    if (node === undefined) {
      this.error(AclCode.MISSING_ID, rule.line, `${at}.id`, 'a rule needs an `id:`')
      return null
    }
    const id = node.kind === 'scalar' ? node.value : null
    if (typeof id !== 'string' || !ID.test(id)) {
      this.error(
        AclCode.BAD_ID,
        node.line,
        `${at}.id`,
        'id must be a string of printable ASCII without spaces (max 200)',
      )
      return null
    }
    const seen = this.ids.get(id)
    if (seen !== undefined) {
      this.error(
        AclCode.DUPLICATE_ID,
        node.line,
        `${at}.id`,
        `duplicate id '${id}': first used at ${seen.file}:${seen.line}`,
      )
      return null
    }
    this.ids.set(id, { file: this.file, line: node.line })
    return id
  }

  private patterns(node: YNode | undefined, rule: YMap, at: string): CompiledPattern[] | null {
    if (node === undefined) {
      this.error(
        AclCode.MISSING_PATH,
        rule.line,
        `${at}.path`,
        'a rule needs a `path:` (a glob or a list of globs)',
      )
      return null
    }
    const items = node.kind === 'seq' ? node.items : [node]
    if (items.length === 0) {
      this.error(AclCode.BAD_PATTERN, node.line, `${at}.path`, 'path list is empty')
      return null
    }
    const out: CompiledPattern[] = []
    let ok = true
    items.forEach((item, i) => {
      const field = node.kind === 'seq' ? `${at}.path[${i}]` : `${at}.path`
      if (item.kind !== 'scalar' || typeof item.value !== 'string') {
        this.error(AclCode.BAD_PATTERN, item.line, field, 'a path pattern must be a string starting with /')
        ok = false
        return
      }
      const result = compilePattern(item.value, this.globCache)
      if (!result.ok) {
        this.error(result.code, item.line, field, `bad path '${item.value}': ${result.message}`)
        ok = false
      } else out.push(...result.patterns)
    })
    return ok ? out : null
  }

  private subjects(node: YNode, at: string): SubjectSet | null {
    const items = node.kind === 'seq' ? node.items : [node]
    if (items.length === 0) {
      this.error(AclCode.BAD_SUBJECT, node.line, at, 'subject list is empty')
      return null
    }
    const texts: string[] = []
    let ok = true
    items.forEach((item, i) => {
      const field = node.kind === 'seq' ? `${at}[${i}]` : at
      const value = item.kind === 'scalar' ? item.value : null
      const parsed = typeof value === 'string' ? parseSubject(value) : `bad subject ${JSON.stringify(value)}`
      if (typeof parsed === 'string') {
        this.error(AclCode.BAD_SUBJECT, item.line, field, parsed)
        ok = false
      } else texts.push(value as string)
    })
    if (!ok) return null
    // Many rules share `anyone`, `authenticated` or one group list: share the compiled set.
    const key = texts.join('\n')
    let set = this.subjectCache.get(key)
    if (set === undefined) {
      set = subjectSet(texts)
      this.subjectCache.set(key, set)
    }
    return set
  }
}

/** The `max_ttl` of a `share:` mapping, or a description of what was there instead. */
function shareMaxTtl(node: Extract<YNode, { kind: 'map' }>): unknown {
  const only = node.entries.length === 1 ? node.entries[0] : undefined
  if (only?.key !== 'max_ttl')
    return `(a mapping with ${node.entries.map((e) => e.key).join(', ') || 'no fields'})`
  return only.value.kind === 'scalar' ? only.value.value : '(a nested value)'
}
