// Flask's session cookie beyond the vectors the real Flask wrote: values Flask would not write
// but that a key holder (or a bug) could, signed correctly so the part under test is reached.
import t from 'tap'
import {
  decodeFlaskSessionCookie,
  FLASK_DEFAULT_MAX_AGE_SECONDS,
  FlaskSessionCookie,
} from '../../src/session/formats/flask-session-cookie.js'
import type { PickleValue } from '../../src/session/formats/pickle.js'
import { SessionFormatConfigError } from '../../src/session/formats/signed-result.js'
import { type FlaskVector, readVectorFile } from '../fixtures/sessions/signed-vectors.js'
import { flaskSign, flaskSignParts } from '../fixtures/sessions/signed-writers.js'
import { tagged } from '../fixtures/sessions/tagged.js'

const KEY = 'flask-test-key-0123456789abcdef'
const OLD = 'flask-old-key-fedcba9876543210'
const T = 1_700_000_000
const NOW = (T + 10) * 1000
const flask = new FlaskSessionCookie([KEY])
const sign = (json: string, options: { compress?: boolean; salt?: string } = {}, ts = T) =>
  flaskSign(json, KEY, ts, options)

t.test('the test signer signs exactly as Flask signed', async (t) => {
  const { vectors } = readVectorFile<FlaskVector>('flask-vectors.json')
  const accepted = vectors.filter((v) => v.expect.ok)
  t.ok(accepted.length >= 4)
  for (const v of accepted) {
    const sigDot = v.cookie.lastIndexOf('.')
    const tsDot = v.cookie.lastIndexOf('.', sigDot - 1)
    const resigned = flaskSignParts(
      v.cookie.slice(0, tsDot),
      v.cookie.slice(tsDot + 1, sigDot),
      v.secrets.at(-1) as string,
    )
    t.equal(resigned, v.cookie, v.name)
  }
  // Uncompressed, the whole cookie is reproduced from the JSON text and the time.
  const plain = accepted.find((v) => !v.cookie.startsWith('.')) as FlaskVector
  const [payload, ts] = plain.cookie.split('.') as [string, string]
  const seconds = Number.parseInt(Buffer.from(ts, 'base64url').toString('hex'), 16)
  t.equal(flaskSign(Buffer.from(payload, 'base64url'), plain.secrets.at(-1) as string, seconds), plain.cookie)
})

t.test('a plain session: frozen data, when it was signed and until when it is accepted', async (t) => {
  const result = flask.decode(sign('{"_user_id":"42","groups":["a","b"],"n":{"x":1}}'), NOW)
  t.same(result, {
    ok: true,
    session: { _user_id: '42', groups: ['a', 'b'], n: { x: 1 } },
    keyIndex: 0,
    signedAt: T * 1000,
    expiresAt: (T + FLASK_DEFAULT_MAX_AGE_SECONDS) * 1000,
  })
  if (!result.ok) return
  t.ok(Object.isFrozen(result))
  t.ok(Object.isFrozen(result.session))
  t.ok(Object.isFrozen(result.session.groups))
  t.ok(Object.isFrozen(result.session.n))
})

t.test('compressed payloads are inflated', async (t) => {
  const json = JSON.stringify({ _user_id: '1', h: Array.from({ length: 50 }, (_, i) => `/f/${i}`) })
  const cookie = sign(json, { compress: true })
  t.ok(cookie.startsWith('.'))
  t.match(flask.decode(cookie, NOW), { ok: true, session: { _user_id: '1' } })
})

t.test('Flask tags become the values the pickle decoder gives', async (t) => {
  const cases: [string, unknown][] = [
    ['{" t":[1,{" t":[2]}]}', [1, [2]]],
    ['{" u":"0F8FAD5BD9CB469FA16570867728950E"}', '0f8fad5b-d9cb-469f-a165-70867728950e'],
    ['{" u":"{urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e}"}', '0f8fad5b-d9cb-469f-a165-70867728950e'],
    ['{" b":"AP9BQg=="}', { $bytes: '00ff4142' }],
    ['{" m":"<i>x</i>"}', '<i>x</i>'],
    [
      '{" d":"Thu, 29 Feb 2024 12:34:56 GMT"}',
      {
        $datetime: '2024-02-29T12:34:56+00:00',
        fold: 0,
        tz: { $timezone: { offset: [0, 0, 0], name: null } },
      },
    ],
    ['{" d":"Sat, 29 Feb 2025 12:34:56 GMT"}', null],
    ['{" d":"Thu, 30 Feb 2024 12:34:56 GMT"}', null],
    ['{" d":"yesterday"}', null],
    ['{" di":{" t__":[1]}}', { ' t': [1] }],
    ['{" di":{"x__":{" t":[1]}}}', { x: [1] }],
    ['{" t":[1],"other":2}', { ' t': [1], other: 2 }],
    ['{" unknown":1}', { ' unknown': 1 }],
  ]
  for (const [json, value] of cases) {
    const result = flask.decode(sign(`{"v":${json}}`), NOW)
    t.strictSame(result.ok && tagged(result.session.v as PickleValue), value, json)
  }
})

t.test('a tag with a value of the wrong type is refused as malformed', async (t) => {
  for (const json of [
    '{" t":"abc"}',
    '{" u":"not-a-uuid"}',
    '{" u":5}',
    '{" b":"not base64!"}',
    '{" b":"AP9BQg"}',
    '{" m":5}',
    '{" d":5}',
    '{" di":"x"}',
    '{" di":{"a__":1,"b__":2}}',
    '{" di":{}}',
  ]) {
    t.match(flask.decode(sign(`{"v":${json}}`), NOW), { ok: false, reason: 'malformed' }, json)
  }
})

t.test("Python's JSON: NaN and Infinity, integers of any size, duplicate keys", async (t) => {
  const result = flask.decode(
    sign('{"nan":NaN,"inf":Infinity,"ninf":-Infinity,"big":123456789012345678901,"neg0":-0,"d":1,"d":2}'),
    NOW,
  )
  if (!result.ok) return t.fail('refused')
  t.ok(Number.isNaN(result.session.nan))
  t.equal(result.session.inf, Number.POSITIVE_INFINITY)
  t.equal(result.session.ninf, Number.NEGATIVE_INFINITY)
  t.equal(result.session.big, 123456789012345678901n, 'not rounded: an exact bigint')
  t.ok(Object.is(result.session.neg0, 0))
  t.equal(result.session.d, 2, 'the last of duplicate keys wins')
})

t.test('a __proto__ key is an own key, never the prototype', async (t) => {
  const result = flask.decode(sign('{"__proto__":{"admin":true},"x":{"__proto__":[1]}}'), NOW)
  if (!result.ok) return t.fail('refused')
  t.equal(Object.getPrototypeOf(result.session), null, 'no prototype at all')
  t.strictSame(tagged(Object.getOwnPropertyDescriptor(result.session, '__proto__')?.value), { admin: true })
  t.equal((result.session as Record<string, unknown>).admin, undefined)
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched')
})

t.test('payloads that are not an object are refused', async (t) => {
  for (const json of [
    '[1]',
    '"x"',
    'null',
    '1',
    '{" t":[1]}',
    '{" b":"AA=="}',
    '{" d":"Thu, 01 Jan 1970 00:00:00 GMT"}',
    '{" u":"0f8fad5bd9cb469fa16570867728950e"}',
    '{" m":"x"}',
    '',
    '{',
    '{"a":1} x',
    '\ufeff{}',
    "{'a':1}",
  ]) {
    t.match(flask.decode(sign(json), NOW), { ok: false, reason: 'malformed' }, JSON.stringify(json))
  }
  t.match(flask.decode(sign('{}'), NOW), { ok: true, session: {} }, 'an empty object is a session')
})

t.test('bad UTF-8, bad zlib and bad base64 are malformed, once the signature holds', async (t) => {
  const ts = Buffer.from([0x65, 0x53, 0xf1, 0x00]).toString('base64url')
  const cases: [string, string][] = [
    [Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url'), 'not UTF-8'],
    ['.bm90IHpsaWI', 'not zlib'],
    ['.', 'empty zlib'],
    ['e30=', 'padded base64'],
    ['e30+', 'standard base64'],
    ['e', 'impossible length'],
    ['e31', 'not canonical'],
  ]
  for (const [payload, why] of cases) {
    t.match(flask.decode(flaskSignParts(payload, ts, KEY), NOW), { ok: false, reason: 'malformed' }, why)
  }
  t.match(flask.decode(flaskSignParts('e30', ts, KEY), NOW), { ok: true, session: {} }, 'the control: {}')
})

t.test('limits: length, decompressed size, nesting', async (t) => {
  const small = new FlaskSessionCookie([KEY], { maxValueLength: 100, maxPayloadBytes: 1000, maxDepth: 5 })
  t.match(small.decode(sign(JSON.stringify({ a: 'x'.repeat(200) })), NOW), { ok: false, reason: 'too-large' })
  const bomb = sign(JSON.stringify({ a: '0'.repeat(5_000_000) }), { compress: true })
  t.ok(bomb.length < 8192, 'five megabytes compress into one cookie')
  t.match(flask.decode(bomb, NOW), { ok: false, reason: 'too-large' }, 'past the default 256 KiB')
  const deep = `${'['.repeat(6)}${']'.repeat(6)}`
  t.match(small.decode(sign(`{"a":${deep}}`), NOW), { ok: false, reason: 'too-deep' })
  t.match(small.decode(sign(`{"a":${'['.repeat(4)}${']'.repeat(4)}}`), NOW), { ok: true })
  const veryDeep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
  t.match(
    new FlaskSessionCookie([KEY], { maxValueLength: 1e6 }).decode(sign(veryDeep, { compress: true }), NOW),
    { ok: false, reason: 'too-deep' },
    'no stack overflow',
  )
})

t.test('max age: PERMANENT_SESSION_LIFETIME, whole seconds, nothing signed in the future', async (t) => {
  const hour = new FlaskSessionCookie([KEY], { maxAgeSeconds: 3600.9 })
  const cookie = sign('{"a":1}')
  t.match(hour.decode(cookie, (T + 3600) * 1000 + 999), { ok: true, expiresAt: (T + 3600) * 1000 })
  t.match(hour.decode(cookie, (T + 3601) * 1000), { ok: false, reason: 'expired' })
  t.match(hour.decode(cookie, T * 1000 - 1), { ok: false, reason: 'expired' })
  const none = new FlaskSessionCookie([KEY], { maxAgeSeconds: 0 })
  t.match(none.decode(cookie, T * 1000 + 999), { ok: true })
  t.match(none.decode(cookie, (T + 1) * 1000), { ok: false, reason: 'expired' })
  t.throws(() => hour.decode(cookie, Number.NaN), TypeError, 'a broken clock is the caller’s bug')
})

t.test('timestamps: more than 8 bytes is malformed; zero is the empty string', async (t) => {
  const nineBytes = flaskSignParts('e30', Buffer.alloc(9, 1).toString('base64url'), KEY)
  t.match(flask.decode(nineBytes, NOW), { ok: false, reason: 'malformed' })
  t.match(flask.decode(flaskSignParts('e30', 'A', KEY), NOW), { ok: false, reason: 'malformed' })
  const epoch = flaskSign('{}', KEY, 0)
  t.match(new FlaskSessionCookie([KEY], { maxAgeSeconds: 1e10 }).decode(epoch, NOW), {
    ok: true,
    signedAt: 0,
  })
})

t.test('secrets: newest first, any verifies, the index says which', async (t) => {
  const both = new FlaskSessionCookie([KEY, OLD])
  t.match(both.decode(flaskSign('{}', OLD, T), NOW), { ok: true, keyIndex: 1 })
  t.match(both.decode(flaskSign('{}', KEY, T), NOW), { ok: true, keyIndex: 0 })
  t.match(flask.decode(flaskSign('{}', OLD, T), NOW), { ok: false, reason: 'bad-signature' })
  const salted = new FlaskSessionCookie([KEY], { salt: 'other-salt' })
  t.match(salted.decode(sign('{}', { salt: 'other-salt' }), NOW), { ok: true })
  t.match(salted.decode(sign('{}'), NOW), { ok: false, reason: 'bad-signature' })
})

t.test('shapes that are not a signed cookie are malformed; wrong signatures are bad-signature', async (t) => {
  const good = sign('{"a":1}')
  const cases: [unknown, string][] = [
    ['', 'malformed'],
    [undefined, 'malformed'],
    [42, 'malformed'],
    ['abc', 'malformed'],
    ['.abc', 'malformed'],
    [`${good} `, 'malformed'],
    [`${good}=`, 'malformed'],
    [good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'bad-signature'],
    [`${good}A`, 'bad-signature'],
    [good.slice(0, -1), 'bad-signature'],
    [good.split('.').slice(1).join('.'), 'bad-signature'],
    ['a.b.c', 'bad-signature'],
  ]
  for (const [value, reason] of cases) {
    t.match(flask.decode(value as string, NOW), { ok: false, reason }, JSON.stringify(value))
  }
  t.match(flask.decode('x'.repeat(9000), NOW), { ok: false, reason: 'too-large' })
})

t.test('bad configuration is a start-up error naming the field, never the secret', async (t) => {
  const bad: [unknown[], object, RegExp][] = [
    [[], {}, /secrets must list at least one secret/],
    [[''], {}, /secrets\[0\] must be a non-empty string/],
    [[KEY, 5], {}, /secrets\[1\]/],
    [[KEY], { maxAgeSeconds: -1 }, /maxAgeSeconds/],
    [[KEY], { maxAgeSeconds: Number.NaN }, /maxAgeSeconds/],
    [[KEY], { salt: '' }, /salt/],
    [[KEY], { maxValueLength: 0 }, /maxValueLength/],
    [[KEY], { maxDepth: 1.5 }, /maxDepth/],
  ]
  for (const [secrets, options, message] of bad) {
    const err = t.throws(() => new FlaskSessionCookie(secrets as string[], options), SessionFormatConfigError)
    t.match((err as Error).message, message)
    t.notMatch((err as Error).message, KEY)
  }
})

t.test('the one-off function answers as the class does', async (t) => {
  const cookie = flaskSign('{"a":1}', OLD, T)
  t.same(
    decodeFlaskSessionCookie(cookie, [KEY, OLD], { now: NOW }),
    new FlaskSessionCookie([KEY, OLD]).decode(cookie, NOW),
  )
  t.match(decodeFlaskSessionCookie(cookie, [KEY], { now: NOW }), { ok: false, reason: 'bad-signature' })
})
