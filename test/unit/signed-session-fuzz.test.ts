// Fuzzing the Flask, Django and Rails session decoders with fast-check. Three kinds of input each:
// random strings (mostly in the format's own alphabet), real cookies from the frameworks' vectors
// mutated (a character changed, inserted or deleted, cut short, parts swapped), and values signed
// or encrypted with the right key around random payloads, so the code past the signature (zlib,
// base64, JSON, Flask's tags, Rails' envelope) is fuzzed too. Every answer must be a frozen result
// with a known refusal reason: no throw, no hang; a changed real cookie is never accepted.
// FUZZ_RUNS scales the runs (default 1000 per property); FC_SEED replays a run.
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import t from 'tap'
import { decodeCookieValue } from '../../src/session/cookie-header.js'
import {
  DJANGO_SIGNED_COOKIES_SALT,
  DjangoSessionData,
  DjangoSignedCookieSession,
} from '../../src/session/formats/django-signing.js'
import { FlaskSessionCookie } from '../../src/session/formats/flask-session-cookie.js'
import { RailsEncryptedCookie } from '../../src/session/formats/rails-cookie.js'
import { SESSION_REFUSAL_REASONS, type SessionDecodeResult } from '../../src/session/formats/signed-result.js'
import {
  alphabetString,
  encodedPayload,
  FLASK_FUZZ_TIMESTAMP,
  FUZZ_KEY,
  FUZZ_NOW,
  FUZZ_RAILS_BASE,
  FUZZ_SIGNED_AT,
  jsonText,
  mutate,
  mutation,
  payloadBytes,
  randomValue,
  URLSAFE,
} from '../fixtures/sessions/signed-fuzz-inputs.js'
import type { MemoryReport } from '../fixtures/sessions/signed-memory-worker.js'
import {
  type DjangoVector,
  type FlaskVector,
  type RailsVector,
  readVectorFile,
} from '../fixtures/sessions/signed-vectors.js'
import {
  base62,
  djangoSignParts,
  flaskSignParts,
  railsEncrypt,
  railsEnvelope,
} from '../fixtures/sessions/signed-writers.js'
import { isDeepFrozen } from '../fixtures/sessions/tagged.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31)
const KEY = FUZZ_KEY
const RAILS_BASE = FUZZ_RAILS_BASE
const T = FUZZ_SIGNED_AT
const NOW = FUZZ_NOW
t.comment(`fast-check seed ${SEED} (FC_SEED=${SEED} replays it), ${RUNS} runs per property`)

const flaskVectors = readVectorFile<FlaskVector>('flask-vectors.json').vectors.filter((v) => v.expect.ok)
const djangoVectors = readVectorFile<DjangoVector>('django-vectors.json').vectors.filter(
  (v) => v.expect.ok && v.kind === 'signed-cookie',
)
const railsVectors = readVectorFile<RailsVector>('rails-vectors.json').vectors.filter((v) => v.expect.ok)

const REASONS = new Set<string>(SESSION_REFUSAL_REASONS)
const tally = new Map<string, number>()

/** The answer is well formed; refusal reasons are counted for the report. */
function wellFormed(label: string, result: SessionDecodeResult): boolean {
  const key = `${label}: ${result.ok ? 'accepted' : result.reason}`
  tally.set(key, (tally.get(key) ?? 0) + 1)
  if (!Object.isFrozen(result)) return false
  if (result.ok) return isDeepFrozen(result.session) && Object.getPrototypeOf(result.session) === null
  return REASONS.has(result.reason) && typeof result.detail === 'string'
}

const property = <T>(arb: fc.Arbitrary<T>, check: (v: T) => boolean) =>
  fc.assert(fc.property(arb, check), { numRuns: RUNS, seed: SEED })

/**
 * Real values with one effective mutation each (a mutation that changes nothing is skipped), and
 * the decoder configured as the value's vector says, built once per vector.
 */
function mutatedVectors<V, D>(
  vectors: V[],
  textOf: (v: V) => string,
  decoderOf: (v: V) => D,
  separator: string,
) {
  const decoders = new Map(vectors.map((v) => [v, decoderOf(v)]))
  return fc
    .tuple(fc.constantFrom(...vectors), mutation)
    .map(([v, m]) => ({
      v,
      decoder: decoders.get(v) as D,
      original: textOf(v),
      mutated: mutate(textOf(v), m, separator),
    }))
    .filter(({ original, mutated }) => mutated !== original)
}

// --- Flask ----------------------------------------------------------------------------------

const flask = new FlaskSessionCookie([KEY])
const flaskTs = FLASK_FUZZ_TIMESTAMP

t.test('Flask: random strings', async (t) => {
  property(randomValue('.'), (v) => wellFormed('flask random', flask.decode(v, NOW)))
  t.pass(`${RUNS} random strings`)
})
t.test('Flask: mutated real cookies are refused', async (t) => {
  property(
    mutatedVectors(
      flaskVectors,
      (v) => v.cookie,
      (v) => new FlaskSessionCookie(v.secrets, v.options),
      '.',
    ),
    ({ v, decoder, mutated }) => {
      const result = decoder.decode(mutated, v.now)
      return wellFormed('flask mutated', result) && !result.ok
    },
  )
  t.pass(`${RUNS} mutations of ${flaskVectors.length} real cookies`)
})
t.test('Flask: correctly signed random payloads', async (t) => {
  property(encodedPayload, (payload) =>
    wellFormed('flask signed', flask.decode(flaskSignParts(payload, flaskTs, KEY), NOW)),
  )
  t.pass(`${RUNS} signed random payloads`)
})

// --- Django ---------------------------------------------------------------------------------

const django = new DjangoSignedCookieSession([KEY])
const djangoData = new DjangoSessionData([KEY], { legacySha1: true })

t.test('Django: random strings', async (t) => {
  property(
    randomValue(':.'),
    (v) =>
      wellFormed('django random', django.decode(v, NOW)) &&
      wellFormed('django data random', djangoData.decode(v, NOW)),
  )
  t.pass(`${RUNS} random strings, each to the cookie and the session_data decoder`)
})
t.test('Django: mutated real values are refused', async (t) => {
  property(
    mutatedVectors(
      djangoVectors,
      (v) => v.value,
      (v) => new DjangoSignedCookieSession(v.secrets, v.options),
      ':',
    ),
    ({ v, decoder, mutated }) => {
      const result = decoder.decode(mutated, v.now)
      return wellFormed('django mutated', result) && !result.ok
    },
  )
  t.pass(`${RUNS} mutations of ${djangoVectors.length} real cookies`)
})
t.test('Django: correctly signed random payloads and timestamps', async (t) => {
  const timestamp = fc.oneof(
    { weight: 3, arbitrary: fc.constant(base62(T)) },
    alphabetString(`${URLSAFE}-`, 10),
  )
  property(fc.tuple(encodedPayload, timestamp), ([payload, ts]) =>
    wellFormed(
      'django signed',
      django.decode(djangoSignParts(payload, ts, KEY, DJANGO_SIGNED_COOKIES_SALT), NOW),
    ),
  )
  t.pass(`${RUNS} signed random payloads`)
})

// --- Rails ----------------------------------------------------------------------------------

const rails = new RailsEncryptedCookie([RAILS_BASE], { cookieName: '_app_session' })

t.test('Rails: random strings', async (t) => {
  property(randomValue('-'), (v) => wellFormed('rails random', rails.decode(v, NOW)))
  // Three base64 parts, the IV and tag mostly of the right length, so that GCM itself is reached.
  const bytes = (lengths: fc.Arbitrary<number>) =>
    lengths
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((b) => Buffer.from(b).toString('base64'))
  const parts = fc.tuple(
    bytes(fc.nat(300)),
    bytes(fc.oneof({ weight: 5, arbitrary: fc.constant(12) }, fc.nat(20))),
    bytes(fc.oneof({ weight: 5, arbitrary: fc.constant(16) }, fc.nat(20))),
  )
  property(parts, ([a, b, c]) => wellFormed('rails random parts', rails.decode(`${a}--${b}--${c}`, NOW)))
  t.pass(`${2 * RUNS} random strings`)
})
t.test('Rails: mutated real cookies are refused', async (t) => {
  property(
    mutatedVectors(
      railsVectors,
      (v) => decodeCookieValue(v.sent),
      (v) => new RailsEncryptedCookie(v.secretKeyBases, v.options),
      '--',
    ),
    ({ v, decoder, mutated }) => {
      const result = decoder.decode(mutated, v.now)
      return wellFormed('rails mutated', result) && !result.ok
    },
  )
  t.pass(`${RUNS} mutations of ${railsVectors.length} real cookies`)
})
t.test('Rails: correctly encrypted random plaintexts and envelopes', async (t) => {
  const expiry = fc.oneof(
    fc.constant(null),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.string({ maxLength: 30 }),
  )
  const purpose = fc.oneof(
    { weight: 4, arbitrary: fc.constant('cookie._app_session') },
    fc.constant(null),
    fc.string({ maxLength: 20 }),
  )
  const plaintext = fc.oneof(
    payloadBytes,
    fc
      .tuple(payloadBytes, purpose, expiry)
      .map(([bytes, pur, exp]) => Buffer.from(railsEnvelope(bytes, pur, exp))),
    fc
      .tuple(jsonText, purpose)
      .map(([text, pur]) =>
        Buffer.from(`{"_rails":{"message":${JSON.stringify(text)},"pur":${JSON.stringify(pur)}}}`),
      ),
  )
  // One IV for every run: the key, not the IV, is what the decoder checks.
  const iv = Buffer.alloc(12, 7)
  property(plaintext, (bytes) =>
    wellFormed('rails encrypted', rails.decode(railsEncrypt(bytes, RAILS_BASE, 'sha1', iv), NOW)),
  )
  t.pass(`${RUNS} encrypted random plaintexts`)
})

t.test('memory stays flat: the decoders keep nothing between values', async (t) => {
  const rounds = Math.max(20, Math.round(RUNS / 10))
  const worker = new Worker(new URL('../fixtures/sessions/signed-memory-worker.ts', import.meta.url), {
    workerData: { rounds, seed: SEED },
  })
  const report = await new Promise<MemoryReport>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await worker.terminate()
  // Collection leaves some noise (a few hundred KiB); a leak of 100 bytes a decode would pass 4 MiB.
  t.ok(
    report.heapGrowthBytes < 4 * 1024 * 1024,
    `${report.decodes} decodes, heap grew ${Math.round(report.heapGrowthBytes / 1024)} KiB`,
  )
  t.ok(report.decodes >= 600 * 20)
})

t.teardown(() => {
  const lines = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`)
  t.comment(`answers by input kind:\n${lines.join('\n')}`)
})
