import fc from 'fast-check'
import t from 'tap'
import { parseFastYaml } from '../../src/acl/fast-yaml.js'
import { parseFullYaml } from '../../src/acl/full-yaml.js'

// The fast reader may give up on anything, but whatever it accepts must read exactly as the
// full `yaml` package reads it: same values, same types, same lines.

const tricky = [
  'null',
  'true',
  'False',
  '~',
  '0x1F',
  '0o17',
  '1e3',
  '-5',
  '+1',
  '.5',
  '.inf',
  '012',
  '3.14',
  'yes',
  'on',
  '2026-01-01',
  'a: b',
  'a:b',
  "it's",
  'x #y',
  'a#b',
  '*.pdf',
  '&a x',
  '!t x',
  '|',
  '>',
  "'q'",
  '"d"',
  "'it''s'",
  '"a\\"b"',
  '"é ü"',
  '[a, b]',
  '[]',
  '[ ]',
  '[a,]',
  '["x", \'y\']',
  '{a}',
  '/a/{b,c}',
  '/a/[b]*',
  '[/a/{b,c}]',
  '512k',
  '1.5m',
  '404',
  '403',
  'inline',
  '- x',
  '?x',
  '@x',
  '`x`',
  '%x',
  'a  b',
  'a,b',
  'private, max-age=60',
]
const plainish = fc.constantFrom('/a/**', '/b/*.pdf', 'anyone', 'group:g1', 'user:alice', 'r-1', 'inline')
const scalar = fc.oneof(
  { weight: 3, arbitrary: plainish },
  { weight: 2, arbitrary: plainish.map((s) => `"${s}"`) },
  { weight: 1, arbitrary: plainish.map((s) => `'${s}'`) },
  { weight: 1, arbitrary: fc.constantFrom(...tricky) },
)
const comment = fc.constantFrom('', '', '  # note', ' #x', '#no-space')
const key = fc.constantFrom(
  'id',
  'path',
  'allow',
  'deny',
  'refusal',
  'limit_rate',
  'cache_control',
  'disposition',
)

/** One rule as lines under a `- ` at `indent`, with fields in random order and shapes. */
const ruleLines = fc
  .tuple(
    fc.uniqueArray(
      fc.tuple(
        key,
        fc.oneof(
          { weight: 4, arbitrary: scalar.map((v) => ({ inline: v })) },
          {
            weight: 1,
            arbitrary: fc.array(scalar, { minLength: 1, maxLength: 3 }).map((vs) => ({ block: vs })),
          },
          {
            weight: 1,
            arbitrary: fc
              .array(plainish, { minLength: 0, maxLength: 3 })
              .map((vs) => ({ inline: `[${vs.join(', ')}]` })),
          },
        ),
        comment,
      ),
      { minLength: 1, maxLength: 4, selector: ([k]) => k },
    ),
    fc.integer({ min: 1, max: 3 }),
  )
  .map(([fields, dashSpaces]) => ({ fields, dashSpaces }))

const doc = fc
  .tuple(
    fc.constantFrom('', '# acl\n', '\n# two\n\n'),
    fc.constantFrom(0, 2, 4),
    fc.array(ruleLines, { minLength: 0, maxLength: 4 }),
    fc.boolean(),
    fc.constantFrom('\n', '', '\n\n   # end\n'),
  )
  .map(([head, indent, rules, withDefaults, tail]) => {
    let out = head
    if (withDefaults) out += 'defaults:\n  refusal: 404\n'
    out += 'rules:\n'
    const pad = ' '.repeat(indent)
    for (const r of rules) {
      const col = pad + ' '.repeat(1 + r.dashSpaces)
      r.fields.forEach(([k, v, c], i) => {
        const lead = i === 0 ? `${pad}-${' '.repeat(r.dashSpaces)}` : col
        if ('inline' in v) out += `${lead}${k}: ${v.inline}${c}\n`
        else {
          out += `${lead}${k}:${c}\n`
          for (const item of v.block) out += `${col}  - ${item}\n`
        }
      })
    }
    return out + tail
  })

t.test('fast yaml: whatever it accepts reads exactly like the full yaml parser', async (t) => {
  let accepted = 0
  let runs = 0
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(doc, (text) => {
        runs++
        const fast = parseFastYaml(text)
        const full = parseFullYaml(text)
        if (fast === undefined) return
        accepted++
        if (!full.ok)
          throw new Error(`fast reader accepted text the full parser rejects: ${full.message}\n${text}`)
        t.same(fast, full.root, text)
      }),
      { numRuns: 600 },
    ),
  )
  t.ok(accepted > runs / 6, `the fast reader accepted ${accepted} of ${runs} documents`)
})

t.test('fast yaml: reads the usual ACL file shape (it must not always give up)', async (t) => {
  const text = `# comment
defaults:
  refusal: 404
rules:
  - id: a   # trailing comment
    path: ["/r/{2025,2026}/**/*.pdf", '/r/[a-c]*.csv']
    allow: [group:finance, user:alice]
    limit_rate: 512k
    cache_control: "private, max-age=60"
  -   id: b
      path:
        - /x/**
      deny: anyone
`
  const fast = parseFastYaml(text)
  t.not(fast, undefined)
  const full = parseFullYaml(text)
  t.same(fast, full.ok ? full.root : 'full failed')
})

t.test(
  'fast yaml: gives up on anchors, tags, block scalars, CRLF, tabs and multi-line plain scalars',
  async (t) => {
    const cases = [
      'rules:\n  - id: &x a\n',
      'rules:\n  - id: !!str a\n',
      'rules:\n  - id: |\n      a\n',
      'rules:\r\n  - id: a\r\n',
      'rules:\n\t- id: a\n',
      'rules:\n  - id: a\n    path: /a\n      /b\n',
      'rules:\n  - id: null\n',
      '---\nrules: []\n',
      'rules:\n  - id: "a\\tb"\n',
      'rules:\n  - id: a\n    id: b\n',
      'rules:\n  - id:\n',
    ]
    for (const text of cases) t.equal(parseFastYaml(text), undefined, JSON.stringify(text))
  },
)
