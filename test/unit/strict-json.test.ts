// The JSON reader the session formats share: what JSON.parse says for any JSON it can represent
// exactly, plus the differences that keep a session what the framework meant.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { RefusalSignal, type SessionValue } from '../../src/session/formats/signed-result.js'
import { readStrictJson } from '../../src/session/formats/strict-json.js'

const PYTHON = { allowNonFinite: true, maxDepth: 64 }
const RUBY = { allowNonFinite: false, maxDepth: 64 }

function read(text: string, options = PYTHON): SessionValue | string {
  try {
    return readStrictJson(text, options)
  } catch (err) {
    if (err instanceof RefusalSignal) return `refused: ${err.reason}`
    throw err
  }
}

/** A test name for any text: a raw U+2028 in a name would end the TAP line. */
function visible(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** The value with its prototype-less objects as ordinary ones, as JSON.parse builds them. */
function ordinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordinary)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ordinary(v)]))
  return value
}

// Integers JSON.parse would round are the one place the two must differ.
const exactJson = fc.jsonValue({ maxDepth: 8 }).filter((v) => !JSON.stringify(v).match(/\d{16,}/))

t.test('any JSON JSON.parse reads exactly, read the same', async (t) => {
  let runs = 0
  fc.assert(
    fc.property(exactJson, fc.boolean(), (value, pretty) => {
      runs++
      const text = JSON.stringify(value, null, pretty ? 2 : undefined)
      return isDeepStrictEqual(ordinary(read(text)), JSON.parse(text))
    }),
    { numRuns: 2000 },
  )
  t.equal(runs, 2000, 'texts compared')
})

t.test('any string JSON.parse refuses is refused (never a throw of another kind)', async (t) => {
  let refusedByBoth = 0
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.json().map((j) => j.slice(0, -1)),
        fc.json().map((j) => `${j}}`),
      ),
      (text) => {
        try {
          JSON.parse(text)
          return true
        } catch {
          refusedByBoth++
          const ours = read(text, RUBY)
          return typeof ours === 'string' && ours.startsWith('refused:')
        }
      },
    ),
    { numRuns: 3000 },
  )
  t.ok(refusedByBoth > 500, `${refusedByBoth} invalid texts refused`)
})

t.test('deep nesting is refused as too deep, far below the stack limit', async (t) => {
  t.not(read(`${'['.repeat(64)}${']'.repeat(64)}`), 'refused: too-deep')
  t.equal(read(`${'['.repeat(65)}${']'.repeat(65)}`), 'refused: too-deep')
  t.equal(read(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`), 'refused: too-deep')
  t.equal(read('['.repeat(1_000_000)), 'refused: too-deep')
})

t.test('numbers: big integers exact, floats as JSON.parse, Python NaN only when allowed', async (t) => {
  t.equal(read('9007199254740991'), 9007199254740991)
  t.equal(read('9007199254740993'), 9007199254740993n)
  t.equal(read('-9007199254740993'), -9007199254740993n)
  t.equal(read(`-${'9'.repeat(4300)}`), -(10n ** 4300n - 1n), "4300 digits: Python's limit")
  t.equal(read('9'.repeat(4301)), 'refused: too-large')
  t.equal(read('1e400'), Number.POSITIVE_INFINITY)
  t.equal(read('12345678901234567890.5'), Number('12345678901234567890.5'))
  t.ok(Object.is(read('-0'), 0))
  t.ok(Object.is(read('-0.0'), -0))
  t.ok(Number.isNaN(read('NaN') as number))
  t.equal(read('[-Infinity]', PYTHON)?.toString(), '-Infinity')
  t.equal(read('NaN', RUBY), 'refused: malformed')
  t.equal(read('Infinity', RUBY), 'refused: malformed')
  for (const bad of ['01', '1.', '.5', '+1', '1e', '-', '0x10', 'Nan', 'infinity', '- 1'])
    t.equal(read(bad), 'refused: malformed', bad)
})

t.test('strings: every escape, no raw control characters, surrogates kept as written', async (t) => {
  t.equal(read('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83c\\udf89"'), '"\\/\b\f\n\r\té🎉')
  t.equal(read('"\\ud800"'), '\ud800')
  for (const bad of ['"\\x41"', '"\\u12"', '"\\u12G4"', '"a\nb"', '"a\u0000"', '"abc', '"\\'])
    t.equal(read(bad), 'refused: malformed', visible(bad))
})

t.test('objects: no prototype, duplicate keys keep their place and the last value', async (t) => {
  const value = read('{"a":1,"b":2,"a":3}') as Record<string, number>
  t.same(Object.entries(value), [
    ['a', 3],
    ['b', 2],
  ])
  const proto = read('{"__proto__":{"polluted":true}}') as object
  t.equal(Object.getPrototypeOf(proto), null)
  t.ok(Object.hasOwn(proto, '__proto__'))
  t.equal(({} as { polluted?: boolean }).polluted, undefined)
  t.ok(Object.isFrozen(proto))
})

t.test('whitespace is what JSON allows, nothing more', async (t) => {
  t.strictSame(ordinary(read(' \t\r\n{ "a" : [ 1 , 2 ] } \n')), { a: [1, 2] })
  for (const bad of ['\u00a0{}', '{}\u2028', '\ufeff{}', '{} /* c */', '{,}', '[1,]', '{"a":1,}'])
    t.equal(read(bad), 'refused: malformed', visible(bad))
})
