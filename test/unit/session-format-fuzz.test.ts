// Fuzzing both session-format decoders with malformed input: random bytes, the real vectors
// mutated, every truncation of them, and soups of the formats' own tokens and opcodes (which get
// much deeper than random bytes do). For every input the decoder must answer, never throw: a
// deep-frozen value, or a refusal with one of its reasons, an offset inside the input, and a
// detail fit for a log line. The run counts here are the ones docs/session-formats.md reports.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { decodePhpSession } from '../../src/session/formats/php-session.js'
import { PHP_REFUSAL_REASONS, phpUnserialize } from '../../src/session/formats/php-unserialize.js'
import { PICKLE_REFUSAL_REASONS, unpickle } from '../../src/session/formats/pickle.js'
import { isDeepFrozen, tagged } from '../fixtures/sessions/tagged.js'
import { type PhpVector, type PickleVector, readVectors } from '../fixtures/sessions/vectors.js'

const fixtures = new URL('../fixtures/sessions/', import.meta.url)
const phpVectors = readVectors<PhpVector>(new URL('php-vectors.json', fixtures)).vectors
const pickleVectors = readVectors<PickleVector>(new URL('pickle-vectors.json', fixtures)).vectors
const phpCorpus = phpVectors.map((v) => Buffer.from(v.input, 'base64'))
const pickleCorpus = pickleVectors.map((v) => Buffer.from(v.input, 'base64'))

const RUNS = { randomBytes: 3000, mutations: 8000, soup: 8000, generated: 3000 }
const LOGGABLE = /^[\x20-\x7e]*$/

type Result = ReturnType<typeof unpickle> | ReturnType<typeof phpUnserialize>

/** The answer is well-formed: a deep-frozen value, or a refusal the decision line can carry. */
function wellFormed(result: Result, input: Uint8Array, reasons: readonly string[]): boolean {
  if (!Object.isFrozen(result)) return false
  if (result.ok) {
    tagged(result.value)
    return isDeepFrozen(result.value)
  }
  return (
    reasons.includes(result.reason) &&
    result.offset >= 0 &&
    result.offset <= input.length &&
    LOGGABLE.test(result.detail)
  )
}

/** Every way PHP session data is read: one value, and the three session handlers. */
function decodePhpEveryWay(input: Uint8Array): boolean {
  return (
    wellFormed(phpUnserialize(input), input, PHP_REFUSAL_REASONS) &&
    wellFormed(phpUnserialize(input, { objects: 'refuse' }), input, PHP_REFUSAL_REASONS) &&
    wellFormed(decodePhpSession(input, 'php'), input, PHP_REFUSAL_REASONS) &&
    wellFormed(decodePhpSession(input, 'php_serialize'), input, PHP_REFUSAL_REASONS) &&
    wellFormed(decodePhpSession(input, 'php_binary'), input, PHP_REFUSAL_REASONS)
  )
}

const decodePickle = (input: Uint8Array) => wellFormed(unpickle(input), input, PICKLE_REFUSAL_REASONS)

/** One to four edits of a real vector: a byte changed, bytes inserted, removed or repeated. */
function mutated(corpus: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 16 }),
    }),
    fc.record({
      kind: fc.constant('repeat' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 32 }),
    }),
  )
  return fc
    .tuple(fc.nat({ max: corpus.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([index, edits]) => {
      let bytes = Buffer.from(corpus[index] as Buffer)
      for (const e of edits) {
        const at = bytes.length === 0 ? 0 : e.at % bytes.length
        if (e.kind === 'set' && bytes.length > 0) bytes[at] = e.byte
        if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)])
        if (e.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)])
        if (e.kind === 'repeat') {
          const slice = bytes.subarray(at, at + e.length)
          bytes = Buffer.concat([bytes.subarray(0, at), slice, slice, bytes.subarray(at)])
        }
      }
      return bytes
    })
}

const PHP_TOKENS = [
  'a:',
  'i:',
  's:',
  'd:',
  'b:',
  'O:',
  'C:',
  'E:',
  'R:',
  'r:',
  'N;',
  'S:',
  '{',
  '}',
  ';',
  ':',
  '"',
  '|',
  '0',
  '1',
  '2',
  '5',
  '9',
  '-',
  '+',
  '.',
  'e',
  'INF',
  'NAN',
  '999999999',
  '8:"stdClass"',
  'key',
  'é',
  '\x00',
  '\x05',
  '\xff',
]
const phpSoup = fc
  .array(fc.constantFrom(...PHP_TOKENS), { maxLength: 80 })
  .map((tokens) => Buffer.from(tokens.join(''), 'latin1'))

// Every opcode of protocols 0-5, a few unknown bytes, and arguments of the lengths they take.
const OPCODES = Buffer.from('()*.0123FGIJKLMNPQRSTUVXabcdeghijlopqrstu}]BC', 'latin1')
const pickleSoup = fc
  .tuple(
    fc.option(fc.integer({ min: 0, max: 6 })),
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...OPCODES),
          fc.integer({ min: 0x80, max: 0x99 }),
          fc.integer({ min: 0, max: 255 }),
        ),
        fc.oneof(
          fc.constant(new Uint8Array(0)),
          fc.uint8Array({ maxLength: 9 }),
          fc
            .constantFrom('datetime\ndate\n', 'os\nsystem\n', '0\n', '1\n', 'latin1\n')
            .map((s) => Buffer.from(s)),
        ),
      ),
      { maxLength: 60 },
    ),
    fc.boolean(),
  )
  .map(([protocol, ops, stop]) =>
    Buffer.concat([
      protocol === null ? Buffer.alloc(0) : Buffer.from([0x80, protocol]),
      ...ops.map(([op, arg]) => Buffer.concat([Buffer.from([op]), arg])),
      Buffer.from(stop ? '.' : ''),
    ]),
  )

// Random PHP values, serialized as PHP does (a few lines, as PHP's format is simple), with what
// they must decode to: keys are ints or non-numeric strings, so PHP's key rules do not apply.
type Generated = { readonly text: string; readonly expected: unknown }
const phpText = fc.string({
  unit: fc.constantFrom('a', 'Z', 'é', '€', '🙂', '"', ';', '}', '|', '\0'),
  maxLength: 12,
})
const phpScalar: fc.Arbitrary<Generated> = fc.oneof(
  fc.constant({ text: 'N;', expected: null }),
  fc.boolean().map((b) => ({ text: `b:${b ? 1 : 0};`, expected: b })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({
    text: `i:${n};`,
    expected: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n,
  })),
  fc.double().map((d) => ({
    text: `d:${Number.isNaN(d) ? 'NAN' : d === Infinity ? 'INF' : d === -Infinity ? '-INF' : Object.is(d, -0) ? '-0' : String(d)};`,
    expected: d,
  })),
  phpText.map((s) => ({ text: `s:${Buffer.byteLength(s)}:"${s}";`, expected: s })),
)
const phpKey = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  phpText.map((s) => `k${s}`),
)
const phpTree: fc.Arbitrary<Generated> = fc.letrec<{ value: Generated; array: Generated }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, phpScalar, tie('array')),
  array: fc
    .uniqueArray(fc.tuple(phpKey, tie('value')), { selector: ([key]) => String(key), maxLength: 6 })
    .map((entries) => {
      const body = entries
        .map(
          ([key, item]) =>
            (typeof key === 'number' ? `i:${key};` : `s:${Buffer.byteLength(key)}:"${key}";`) + item.text,
        )
        .join('')
      const isList = entries.every(([key], index) => key === index)
      const expected = isList
        ? entries.map(([, item]) => item.expected)
        : Object.fromEntries(entries.map(([key, item]) => [String(key), item.expected]))
      return { text: `a:${entries.length}:{${body}}`, expected }
    }),
})).value

t.test('fuzz php: random values serialized as PHP does decode to themselves', async (t) => {
  fc.assert(
    fc.property(phpTree, ({ text, expected }) => {
      const result = phpUnserialize(text)
      return result.ok && isDeepStrictEqual(plain(result.value), expected)
    }),
    { numRuns: RUNS.generated },
  )
  t.pass(`${RUNS.generated} values`)
})

t.test('fuzz php: random values, mutated and with stray references, always get an answer', async (t) => {
  const withReferences = fc
    .tuple(
      phpTree,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('R', 'r'), fc.nat({ max: 30 })), { maxLength: 3 }),
    )
    .map(([{ text }, refs]) => {
      let out = text
      for (const [at, kind, n] of refs) {
        // Only where a value may start: after a key or at the front.
        const cut = out.indexOf(';', at % Math.max(1, out.length))
        out = cut === -1 ? out : `${out.slice(0, cut + 1)}${kind}:${n};${out.slice(cut + 1)}`
      }
      return Buffer.from(out)
    })
  fc.assert(fc.property(withReferences, decodePhpEveryWay), { numRuns: RUNS.generated })
  const generatedCorpus = fc.sample(phpTree, 200).map(({ text }) => Buffer.from(text))
  fc.assert(fc.property(mutated(generatedCorpus), decodePhpEveryWay), { numRuns: RUNS.generated })
  t.pass(`${RUNS.generated} with references, ${RUNS.generated} mutated`)
})

/** A decoded value with its maps as ordinary objects, to compare with the expected ones. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]))
  }
  return value
}

t.test('fuzz php: random bytes, mutated vectors and token soup always get an answer', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), decodePhpEveryWay), { numRuns: RUNS.randomBytes })
  fc.assert(fc.property(mutated(phpCorpus), decodePhpEveryWay), { numRuns: RUNS.mutations })
  fc.assert(fc.property(phpSoup, decodePhpEveryWay), { numRuns: RUNS.soup })
  t.pass(
    `${RUNS.randomBytes} random, ${RUNS.mutations} mutated, ${RUNS.soup} token-soup inputs, each read 5 ways`,
  )
})

t.test('fuzz pickle: random bytes, mutated vectors and opcode soup always get an answer', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), decodePickle), { numRuns: RUNS.randomBytes })
  fc.assert(fc.property(mutated(pickleCorpus), decodePickle), { numRuns: RUNS.mutations })
  fc.assert(fc.property(pickleSoup, decodePickle), { numRuns: RUNS.soup })
  t.pass(`${RUNS.randomBytes} random, ${RUNS.mutations} mutated, ${RUNS.soup} opcode-soup inputs`)
})

// Every prefix of the smaller vectors, every 61st of the larger (decoding a prefix costs its length).
function* truncations(input: Buffer): Generator<Buffer> {
  const step = input.length <= 2048 ? 1 : 61
  for (let length = 0; length < input.length; length += step) yield input.subarray(0, length)
}

t.test('fuzz php: every truncation of a value is refused, of a session answered', async (t) => {
  let count = 0
  let wrong = 0
  phpVectors.forEach((vector, i) => {
    for (const prefix of truncations(phpCorpus[i] as Buffer)) {
      count++
      if (!decodePhpEveryWay(prefix)) wrong++
      // A cut session may end between two variables, and be a shorter session; a cut value cannot.
      if (vector.format === 'serialize' && phpUnserialize(prefix).ok) wrong++
    }
  })
  t.equal(wrong, 0, `${count} truncations`)
  t.comment(`php truncations: ${count}`)
})

t.test('fuzz pickle: every truncation is refused', async (t) => {
  let count = 0
  let wrong = 0
  for (const input of pickleCorpus) {
    for (const prefix of truncations(input)) {
      count++
      const result = unpickle(prefix)
      if (result.ok || !wellFormed(result, prefix, PICKLE_REFUSAL_REASONS)) wrong++
    }
  }
  t.equal(wrong, 0, `${count} truncations`)
  t.comment(`pickle truncations: ${count}`)
})

t.test('fuzz: the largest hostile inputs within maxBytes are answered', async (t) => {
  const MiB = 1024 * 1024
  const fill = (pattern: string, before = '', after = '') =>
    Buffer.from(
      before + pattern.repeat(Math.floor((MiB - before.length - after.length) / pattern.length)) + after,
      'latin1',
    )
  t.match(phpUnserialize(fill('a:1:{i:0;')), { ok: false, reason: 'too-deep' })
  t.match(phpUnserialize(fill('i:0;R:1;', 'a:99999:{', '}')), { ok: false })
  t.match(
    decodePhpSession(fill('x|N;'), 'php'),
    { ok: false, reason: 'too-large' },
    'overwritten values count',
  )
  t.match(decodePhpSession(fill(`x|s:1000:"${'x'.repeat(1000)}";`), 'php'), { ok: true })
  t.match(decodePhpSession(fill('x|a:1:{i:0;O:8:"stdClass":0:{}}'), 'php'), { ok: true })
  t.match(unpickle(fill('(')), { ok: false, reason: 'truncated' })
  t.match(unpickle(fill(']', '', '.')), { ok: false, reason: 'bad-syntax' })
  t.match(unpickle(fill(']a', ']', '.')), { ok: false, reason: 'too-large' }, 'a flat list of 500,000')
  const half = Math.floor(MiB / 2) - 1
  t.match(unpickle(Buffer.from(`${']'.repeat(half + 1)}${'a'.repeat(half)}.`)), {
    ok: false,
    reason: 'too-deep',
  })
  t.match(unpickle(fill('2', ']q\x00', '.')), { ok: false, reason: 'bad-syntax' })
  t.match(unpickle(fill('h\x00', ']q\x000(', 'l.')), { ok: false, reason: 'too-large' })
  t.match(unpickle(fill('K\x01', '(', 'l.')), { ok: false, reason: 'too-large' })
  t.match(unpickle(fill('K\x01', '(', 'l.'), { maxElements: MiB }), { ok: true })
  t.match(unpickle(Buffer.alloc(MiB + 1)), { ok: false, reason: 'too-large' })
  t.match(phpUnserialize(Buffer.alloc(MiB + 1)), { ok: false, reason: 'too-large' })
})
