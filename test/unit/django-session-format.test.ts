// Django's signed values beyond the vectors the real Django wrote: values Django would not write
// but that a key holder (or a bug) could, signed correctly so the part under test is reached.
import { createHash, createHmac } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import t from 'tap'
import {
  DJANGO_DEFAULT_SESSION_COOKIE_AGE,
  DJANGO_SIGNED_COOKIES_SALT,
  DjangoSessionData,
  DjangoSignedCookieSession,
  DjangoSigning,
  decodeDjangoSessionData,
  decodeDjangoSigned,
  decodeDjangoSignedCookie,
} from '../../src/session/formats/django-signing.js'
import { SessionFormatConfigError } from '../../src/session/formats/signed-result.js'
import { type DjangoVector, readVectorFile } from '../fixtures/sessions/signed-vectors.js'
import { base62, djangoSign, djangoSignParts } from '../fixtures/sessions/signed-writers.js'

const KEY = 'django-test-key-0123456789abcdef'
const OLD = 'django-old-key-fedcba9876543210'
const T = 1_700_000_000
const NOW = (T + 10) * 1000
const DATA_SALT = 'django.contrib.sessions.SessionStore'
const cookies = new DjangoSignedCookieSession([KEY])
const data = new DjangoSessionData([KEY])
const signCookie = (
  json: string,
  options: { compress?: boolean; algorithm?: 'sha1' | 'sha256' } = {},
  ts = T,
) => djangoSign(json, KEY, DJANGO_SIGNED_COOKIES_SALT, ts, options)

t.test('the test signer signs exactly as Django signed', async (t) => {
  const { vectors } = readVectorFile<DjangoVector>('django-vectors.json')
  const salts = { 'signed-cookie': DJANGO_SIGNED_COOKIES_SALT, 'session-data': DATA_SALT, signing: '' }
  const signed = vectors.filter((v) => v.expect.ok && v.value.includes(':'))
  t.ok(signed.length >= 8)
  for (const v of signed) {
    const salt = (v.options.salt as string | undefined) ?? salts[v.kind]
    const [payload, ts] = v.value.split(':') as [string, string]
    const algorithm = v.options.legacySha1 ? 'sha1' : 'sha256'
    t.equal(djangoSignParts(payload, ts, v.secrets.at(-1) as string, salt, algorithm), v.value, v.name)
  }
})

t.test(
  'signed_cookies: the session, when it was signed, until when SESSION_COOKIE_AGE accepts it',
  async (t) => {
    const result = cookies.decode(signCookie('{"_auth_user_id":"42","g":["a"]}'), NOW)
    t.same(result, {
      ok: true,
      session: { _auth_user_id: '42', g: ['a'] },
      keyIndex: 0,
      signedAt: T * 1000,
      expiresAt: (T + DJANGO_DEFAULT_SESSION_COOKIE_AGE) * 1000,
    })
    t.ok(result.ok && Object.isFrozen(result.session.g))
  },
)

t.test('max age: fractional like Django, future timestamps accepted like Django', async (t) => {
  const hour = new DjangoSignedCookieSession([KEY], { maxAgeSeconds: 3600 })
  const cookie = signCookie('{}')
  t.match(hour.decode(cookie, (T + 3600) * 1000), { ok: true })
  t.match(hour.decode(cookie, (T + 3600) * 1000 + 1), { ok: false, reason: 'expired' })
  t.match(hour.decode(cookie, (T - 86400) * 1000), { ok: true })
  t.match(hour.decode(djangoSign('{}', KEY, DJANGO_SIGNED_COOKIES_SALT, -5), T * 1000), {
    ok: false,
    reason: 'expired',
  })
  t.match(
    new DjangoSigning([KEY], { salt: DJANGO_SIGNED_COOKIES_SALT }).decode(cookie, 1e15),
    { ok: true, expiresAt: null },
    'signing.loads without max_age never expires',
  )
})

t.test('session_data: no max age, the store says how long it lives', async (t) => {
  const stored = djangoSign('{"_auth_user_id":"1"}', KEY, DATA_SALT, T, { compress: true })
  t.match(data.decode(stored, 4e12), { ok: true, session: { _auth_user_id: '1' }, expiresAt: null })
  t.match(cookies.decode(stored, NOW), { ok: false, reason: 'bad-signature' }, 'another salt')
  const custom = new DjangoSessionData([KEY], { sessionStoreClass: 'SessionStore2' })
  t.match(custom.decode(djangoSign('{}', KEY, 'django.contrib.sessions.SessionStore2', T), NOW), { ok: true })
  t.match(custom.decode(stored, NOW), { ok: false, reason: 'bad-signature' })
})

t.test("Django's JSON: latin-1 bytes, NaN, integers of any size, objects only", async (t) => {
  const latin1 = cookies.decode(signCookie('{"name":"caf\u00e9"}'), NOW)
  t.match(
    latin1,
    { ok: true, session: { name: 'caf\u00e9' } },
    'each byte is one character, as Django decodes',
  )
  const result = cookies.decode(signCookie('{"n":NaN,"big":-123456789012345678901}'), NOW)
  t.ok(result.ok && Number.isNaN(result.session.n))
  t.equal(result.ok && result.session.big, -123456789012345678901n, 'exact, as a bigint')
  for (const json of ['[]', '"x"', '1', 'null', '{"a":', '{"a":1}x']) {
    t.match(cookies.decode(signCookie(json), NOW), { ok: false, reason: 'malformed' }, json)
  }
})

t.test('a pickled payload is refused before anything reads it', async (t) => {
  // pickle.dumps({'a': 1}, 5): PROTO 5, FRAME ..., then a dict.
  const pickled = Buffer.from('80059509000000000000007d948c0161944b01732e', 'hex')
  t.match(cookies.decode(djangoSign(pickled, KEY, DJANGO_SIGNED_COOKIES_SALT, T), NOW), {
    ok: false,
    reason: 'refused-serializer',
  })
  t.match(data.decode(djangoSign(pickled, KEY, DATA_SALT, T, { compress: true }), NOW), {
    ok: false,
    reason: 'refused-serializer',
  })
})

t.test('limits: length, decompressed size, nesting', async (t) => {
  const bomb = signCookie(JSON.stringify({ a: '0'.repeat(5_000_000) }), { compress: true })
  t.match(cookies.decode(bomb, NOW), { ok: false, reason: 'too-large' })
  t.match(
    new DjangoSignedCookieSession([KEY], { maxValueLength: 50 }).decode(signCookie('{"a":"123456789"}'), NOW),
    {
      ok: false,
      reason: 'too-large',
    },
  )
  const deep = new DjangoSessionData([KEY], { maxDepth: 3 })
  t.match(deep.decode(djangoSign('{"a":[[[]]]}', KEY, DATA_SALT, T), NOW), { ok: false, reason: 'too-deep' })
  t.match(deep.decode(djangoSign('{"a":[[]]}', KEY, DATA_SALT, T), NOW), { ok: true })
  const big = djangoSign(JSON.stringify({ a: 'x'.repeat(100_000) }), KEY, DATA_SALT, T)
  t.match(data.decode(big, NOW), { ok: true }, 'session_data may be far larger than a cookie')
  t.match(cookies.decode(big, NOW), { ok: false, reason: 'too-large' })
})

t.test('timestamps and payloads that are not what Django writes are malformed', async (t) => {
  const cases: [string, string, string][] = [
    ['e30', '', 'empty timestamp'],
    ['e30', '1a2b3c4d5', 'nine base62 digits'],
    ['e30', '1a_', 'not base62'],
    ['e30', '--1', 'two signs'],
    ['e30=', base62(T), 'padded base64'],
    ['.bm90IHpsaWI', base62(T), 'not zlib'],
    ['e31', base62(T), 'not canonical base64'],
  ]
  for (const [payload, ts, why] of cases) {
    t.match(
      cookies.decode(djangoSignParts(payload, ts, KEY, DJANGO_SIGNED_COOKIES_SALT), NOW),
      { ok: false, reason: 'malformed' },
      why,
    )
  }
  const farFuture = cookies.decode(djangoSignParts('e30', 'zzzzzzzz', KEY, DJANGO_SIGNED_COOKIES_SALT), NOW)
  t.match(
    farFuture,
    { ok: true, signedAt: (62 ** 8 - 1) * 1000 },
    'eight digits, the future: Django accepts it',
  )
  t.match(cookies.decode(djangoSignParts('e30', '-1', KEY, DJANGO_SIGNED_COOKIES_SALT), NOW), {
    ok: false,
    reason: 'expired',
  })
})

t.test('shapes that are not a signed value are malformed; wrong signatures are bad-signature', async (t) => {
  const good = signCookie('{"a":1}')
  const cases: [unknown, string][] = [
    ['', 'malformed'],
    [null, 'malformed'],
    ['abc', 'malformed'],
    [`${good}=`, 'malformed'],
    [`${good} `, 'malformed'],
    [good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'bad-signature'],
    [good.slice(0, -1), 'bad-signature'],
    [`${good}A`, 'bad-signature'],
    [good.split(':').slice(0, 2).join(':'), 'bad-signature'],
    [`x:${good.split(':')[2]}`, 'bad-signature'],
  ]
  for (const [value, reason] of cases) {
    t.match(cookies.decode(value as string, NOW), { ok: false, reason }, JSON.stringify(value))
  }
  t.match(cookies.decode('x'.repeat(9000), NOW), { ok: false, reason: 'too-large' })
})

t.test('secrets: SECRET_KEY then SECRET_KEY_FALLBACKS; SHA-1 only with legacySha1', async (t) => {
  const both = new DjangoSignedCookieSession([KEY, OLD])
  t.match(both.decode(djangoSign('{}', OLD, DJANGO_SIGNED_COOKIES_SALT, T), NOW), { ok: true, keyIndex: 1 })
  t.match(cookies.decode(djangoSign('{}', OLD, DJANGO_SIGNED_COOKIES_SALT, T), NOW), {
    ok: false,
    reason: 'bad-signature',
  })
  const sha1 = signCookie('{}', { algorithm: 'sha1' })
  t.match(cookies.decode(sha1, NOW), { ok: false, reason: 'bad-signature' })
  t.match(new DjangoSignedCookieSession([KEY, OLD], { legacySha1: true }).decode(sha1, NOW), {
    ok: true,
    keyIndex: 0,
  })
})

// Django 3.2's _legacy_encode: base64('<hex salted_hmac SHA-1>:<serialized>').
function legacySessionData(json: string, secret: string, storeClass = 'SessionStore'): string {
  const key = createHash('sha1').update(`django.contrib.sessions${storeClass}`).update(secret).digest()
  const hash = createHmac('sha1', key).update(json).digest('hex')
  return Buffer.from(`${hash}:${json}`, 'latin1').toString('base64')
}

t.test('pre-3.1 session_data: read only with legacySha1, verified, pickles refused', async (t) => {
  const legacy = new DjangoSessionData([KEY, OLD], { legacySha1: true })
  const stored = legacySessionData('{"_auth_user_id":"3"}', OLD)
  t.match(legacy.decode(stored, NOW), {
    ok: true,
    session: { _auth_user_id: '3' },
    keyIndex: 1,
    signedAt: null,
  })
  t.match(data.decode(stored, NOW), { ok: false, reason: 'malformed' })
  t.match(legacy.decode(legacySessionData('{"a":1}', 'wrong key'), NOW), {
    ok: false,
    reason: 'bad-signature',
  })
  t.match(legacy.decode(Buffer.from('no hash here').toString('base64'), NOW), {
    ok: false,
    reason: 'malformed',
  })
  const pickled = Buffer.concat([Buffer.from(`${'0'.repeat(40)}:`), Buffer.from([0x80, 0x04])]).toString(
    'base64',
  )
  t.match(legacy.decode(pickled, NOW), { ok: false, reason: 'bad-signature' })
  const key = createHash('sha1').update('django.contrib.sessionsSessionStore').update(KEY).digest()
  const body = Buffer.from([0x80, 0x04, 0x4b, 0x01, 0x2e])
  const signedPickle = Buffer.concat([
    Buffer.from(`${createHmac('sha1', key).update(body).digest('hex')}:`),
    body,
  ])
  t.match(legacy.decode(signedPickle.toString('base64'), NOW), { ok: false, reason: 'refused-serializer' })
  t.match(
    legacy.decode(djangoSign('{}', 'wrong key', DATA_SALT, T), NOW),
    { ok: false, reason: 'bad-signature' },
    'a signed value with a wrong key stays a bad signature',
  )
  const compressedJson = deflateSync('{}').toString('base64')
  t.match(legacy.decode(compressedJson, NOW), { ok: false }, 'neither format')
})

t.test('bad configuration is a start-up error naming the field', async (t) => {
  t.throws(() => new DjangoSignedCookieSession([]), SessionFormatConfigError)
  t.throws(() => new DjangoSignedCookieSession([KEY], { maxAgeSeconds: -5 }), /maxAgeSeconds/)
  t.throws(() => new DjangoSigning([KEY], { salt: '' }), /salt/)
  t.throws(() => new DjangoSessionData([KEY], { sessionStoreClass: '' }), /sessionStoreClass/)
  t.throws(() => new DjangoSessionData([KEY], { maxPayloadBytes: -1 }), /maxPayloadBytes/)
})

t.test('the one-off functions answer as the classes do', async (t) => {
  const cookie = signCookie('{"a":1}')
  t.same(decodeDjangoSignedCookie(cookie, [KEY], { now: NOW }), cookies.decode(cookie, NOW))
  t.same(
    decodeDjangoSigned(cookie, [KEY], { salt: DJANGO_SIGNED_COOKIES_SALT, maxAgeSeconds: 1, now: NOW }),
    { ok: false, reason: 'expired', detail: 'older than the max age' },
  )
  const stored = djangoSign('{"a":1}', KEY, DATA_SALT, T)
  t.same(decodeDjangoSessionData(stored, [KEY]), data.decode(stored))
})
