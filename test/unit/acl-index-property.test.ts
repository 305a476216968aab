import fc from 'fast-check'
import t from 'tap'
import { buildRuleSet, DEFAULT_POLICY, type Subject } from '../../src/acl/index.js'

// The key proof that the trie index is right: on random rule sets, paths and subjects, the
// indexed matcher must decide exactly like a naive reference that tries every rule in order
// against one whole-path RegExp per pattern, written here independently of src/acl/pattern.ts.

interface GenRule {
  readonly effect: 'allow' | 'deny'
  readonly patterns: readonly string[]
  readonly subjects: readonly string[]
}

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c', 'ab') },
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      '*',
      'a*',
      '*b',
      '?',
      '[ab]',
      '[!a]',
      '[a-c]?',
      '**',
      '{a,b}',
      'x{a,b/c}',
      '{user}',
      '{group}',
    ),
  },
)
const pattern = fc.array(segment, { minLength: 0, maxLength: 4 }).map((segs) => `/${segs.join('/')}`)
const subjectText = fc.constantFrom('anyone', 'authenticated', 'user:alice', 'user:a', 'group:g1', 'group:a')
const rule: fc.Arbitrary<GenRule> = fc.record({
  effect: fc.constantFrom('allow' as const, 'deny' as const),
  patterns: fc.array(pattern, { minLength: 1, maxLength: 3 }),
  subjects: fc.array(subjectText, { minLength: 1, maxLength: 2 }),
})
const path = fc
  .array(fc.constantFrom('a', 'b', 'c', 'ab', 'ba', 'x', 'xa', 'alice', 'g1', 'é'), {
    minLength: 0,
    maxLength: 5,
  })
  .map((segs) => `/${segs.join('/')}`)
const subject: fc.Arbitrary<Subject> = fc.record({
  user: fc.constantFrom(null, 'alice', 'a', 'bob'),
  groups: fc.subarray(['g1', 'a', 'b']),
})

function yamlOf(rules: readonly GenRule[]): string {
  let out = 'rules:\n'
  rules.forEach((r, i) => {
    out += `  - id: r${i}\n    path: ${JSON.stringify(r.patterns)}\n    ${r.effect}: ${JSON.stringify(r.subjects)}\n`
  })
  return out
}

// ---- the naive reference -------------------------------------------------------------------

function expandBraces(p: string): string[] {
  const m = /\{([^{}]*,[^{}]*)\}/.exec(p)
  if (m === null) return [p]
  return (m[1] as string)
    .split(',')
    .flatMap((alt) => expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)))
}

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
}

function segmentRe(seg: string, s: Subject): string {
  if (seg === '{user}') return s.user === null ? '(?!)' : escapeRe(s.user)
  if (seg === '{group}') return s.groups.length === 0 ? '(?!)' : `(?:${s.groups.map(escapeRe).join('|')})`
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1)
      re += `[${seg.slice(i + 1, close).replace(/^!/, '^')}]`
      i = close
    } else re += escapeRe(c)
  }
  return re
}

function patternRe(p: string, s: Subject): RegExp {
  if (p === '/') return /^\/$/
  const segs = p.slice(1).split('/')
  let re = '^'
  segs.forEach((seg, i) => {
    if (seg === '**') re += i === segs.length - 1 ? '(?:/[^/]+)+' : '(?:/[^/]+)*'
    else re += `/${segmentRe(seg, s)}`
  })
  return new RegExp(`${re}$`, 'u')
}

function subjectOk(texts: readonly string[], s: Subject): boolean {
  return texts.some(
    (x) =>
      x === 'anyone' ||
      (x === 'authenticated' && s.user !== null) ||
      (x.startsWith('user:') && s.user === x.slice(5)) ||
      (x.startsWith('group:') && s.groups.includes(x.slice(6))),
  )
}

function reference(rules: readonly GenRule[], p: string, s: Subject): string | null {
  for (const [i, r] of rules.entries()) {
    if (!subjectOk(r.subjects, s)) continue
    // The root path has no segment at all, so only the pattern `/` matches it (not `/*`).
    const hit = (x: string): boolean => (p === '/' ? x === '/' : patternRe(x, s).test(p))
    if (r.patterns.flatMap(expandBraces).some(hit)) return `r${i}`
  }
  return null
}

// ---- the properties ------------------------------------------------------------------------

t.test('index: decides exactly like a linear scan of every rule in order', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(path, subject), { minLength: 1, maxLength: 20 }),
        (rules, probes) => {
          const r = buildRuleSet([{ file: 'p.yaml', text: yamlOf(rules) }], {
            defaultEffect: 'deny',
            defaults: DEFAULT_POLICY,
          })
          if (!r.ok) throw new Error(`generated rules must load: ${JSON.stringify(r.errors)}`)
          for (const [p, s] of probes) {
            const d = r.ruleSet.decide(p, s)
            const expected = reference(rules, p, s)
            if ((d.rule?.id ?? null) !== expected) {
              throw new Error(
                `${p} as ${JSON.stringify(s)}: index says ${d.rule?.id ?? 'none'}, reference ${expected}`,
              )
            }
            const allow = expected === null ? false : rules[Number(expected.slice(1))]?.effect === 'allow'
            if (d.allow !== allow) throw new Error(`${p}: allow ${d.allow}, expected ${allow}`)
          }
        },
      ),
      { numRuns: 400 },
    ),
  )
})

t.test('index: the reference itself tells rules apart (guards against a vacuous property)', async (t) => {
  const rules: GenRule[] = [
    { effect: 'deny', patterns: ['/a/**'], subjects: ['user:alice'] },
    { effect: 'allow', patterns: ['/a/{b,c}'], subjects: ['anyone'] },
  ]
  t.equal(reference(rules, '/a/b', { user: 'alice', groups: [] }), 'r0')
  t.equal(reference(rules, '/a/b', { user: null, groups: [] }), 'r1')
  t.equal(reference(rules, '/a', { user: null, groups: [] }), null)
})
