// Rails' encrypted cookie beyond the vectors the real Rails wrote: envelopes, purposes, expiries
// and payloads Rails would not write but that a key holder (or a bug) could, encrypted correctly
// so the part under test is reached.
import t from 'tap'
import { decodeRailsEncryptedCookie, RailsEncryptedCookie } from '../../src/session/formats/rails-cookie.js'
import { SessionFormatConfigError } from '../../src/session/formats/signed-result.js'
import { railsEncrypt, railsEnvelope } from '../fixtures/sessions/signed-writers.js'

const BASE = 'a'.repeat(128)
const OLD = 'b'.repeat(128)
const PURPOSE = 'cookie._app_session'
const NOW = Date.UTC(2024, 0, 1)
const rails = new RailsEncryptedCookie([BASE], { cookieName: '_app_session' })
const seal = (
  json: string,
  exp: string | null = null,
  purpose: string | null = PURPOSE,
  digest: 'sha1' | 'sha256' = 'sha1',
) => railsEncrypt(railsEnvelope(json, purpose, exp), BASE, digest)

t.test('a session in its envelope: frozen data and its expiry', async (t) => {
  const result = rails.decode(
    seal('{"warden.user.user.key":[[42],"salt"],"session_id":"abc"}', '2024-01-01T01:00:00.000Z'),
    NOW,
  )
  t.same(result, {
    ok: true,
    session: { 'warden.user.user.key': [[42], 'salt'], session_id: 'abc' },
    keyIndex: 0,
    signedAt: null,
    expiresAt: Date.UTC(2024, 0, 1, 1),
  })
  t.ok(result.ok && Object.isFrozen((result.session['warden.user.user.key'] as unknown[])[0]))
})

t.test('both key derivations by default, one when configured', async (t) => {
  const sha256 = seal('{"a":1}', null, PURPOSE, 'sha256')
  t.match(rails.decode(sha256, NOW), { ok: true })
  t.match(
    new RailsEncryptedCookie([BASE], { cookieName: '_app_session', keyDigests: ['sha1'] }).decode(
      sha256,
      NOW,
    ),
    {
      ok: false,
      reason: 'bad-signature',
    },
  )
  const both = new RailsEncryptedCookie([BASE, OLD], { cookieName: '_app_session', keyDigests: ['sha256'] })
  t.match(both.decode(railsEncrypt(railsEnvelope('{}', PURPOSE), OLD, 'sha256'), NOW), {
    ok: true,
    keyIndex: 1,
  })
})

t.test('expiry: accepted strictly before exp, any ISO 8601 offset', async (t) => {
  t.match(rails.decode(seal('{}', '2024-01-01T00:00:00.001Z'), NOW), { ok: true })
  t.match(rails.decode(seal('{}', '2024-01-01T00:00:00.000Z'), NOW), { ok: false, reason: 'expired' })
  t.match(rails.decode(seal('{}', '2024-01-01T01:00:00+01:00'), NOW), { ok: false, reason: 'expired' })
  t.match(rails.decode(seal('{}', '2023-12-31T19:00:01-05:00'), NOW), { ok: true, expiresAt: NOW + 1000 })
  t.match(rails.decode(seal('{}', '2024-01-01T00:00:01Z'), NOW), { ok: true, expiresAt: NOW + 1000 })
  for (const exp of ['2024-02-30T00:00:00Z', 'tomorrow', '2024-01-01 00:00:00', '2024-01-01T24:00:00Z']) {
    t.match(rails.decode(seal('{}', exp), NOW), { ok: false, reason: 'malformed' }, exp)
  }
  t.throws(() => rails.decode(seal('{}', '2024-01-01T00:00:01Z'), Number.POSITIVE_INFINITY), TypeError)
})

t.test('purpose: this cookie only; none only when allowed', async (t) => {
  t.match(rails.decode(seal('{}', null, 'cookie.remember_token'), NOW), {
    ok: false,
    reason: 'wrong-purpose',
  })
  t.match(rails.decode(seal('{}', null, null), NOW), { ok: false, reason: 'wrong-purpose' })
  t.match(rails.decode(railsEncrypt('{"session_id":"x"}', BASE), NOW), { ok: false, reason: 'wrong-purpose' })
  const lenient = new RailsEncryptedCookie([BASE], { cookieName: '_app_session', requirePurpose: false })
  t.match(lenient.decode(seal('{"a":1}', null, null), NOW), { ok: true, session: { a: 1 } })
  t.match(lenient.decode(seal('{"a":1}', null, ''), NOW), { ok: true })
  t.match(lenient.decode(railsEncrypt('{"session_id":"x"}', BASE), NOW), {
    ok: true,
    session: { session_id: 'x' },
  })
  t.match(lenient.decode(seal('{}', null, 'cookie.other'), NOW), { ok: false, reason: 'wrong-purpose' })
  t.match(lenient.decode(railsEncrypt('[1]', BASE), NOW), { ok: false, reason: 'malformed' })
  const other = new RailsEncryptedCookie([BASE], { cookieName: 'remember_token' })
  t.match(other.decode(seal('{}', null, 'cookie.remember_token'), NOW), { ok: true })
})

t.test('Marshal and MessagePack are refused unread, in or out of the envelope', async (t) => {
  // Marshal.dump({"a" => 1}) and a MessagePack message with Rails' signature.
  const marshal = Buffer.from('04087b0649220661063a0645546906', 'hex')
  const msgpack = Buffer.from('cc8081a16101', 'hex')
  for (const [name, bytes] of [
    ['Marshal', marshal],
    ['MessagePack', msgpack],
  ] as const) {
    t.match(
      rails.decode(railsEncrypt(railsEnvelope(bytes, PURPOSE), BASE), NOW),
      { ok: false, reason: 'refused-serializer' },
      name,
    )
    t.match(
      rails.decode(railsEncrypt(bytes, BASE), NOW),
      { ok: false, reason: 'refused-serializer' },
      `bare ${name}`,
    )
  }
})

t.test('envelopes and payloads Rails would not write are malformed', async (t) => {
  const cases: [string | Buffer, string][] = [
    ['{"_rails":"x"}', 'envelope not an object'],
    ['{"_rails":{"exp":null,"pur":"cookie._app_session"}}', 'no message'],
    ['{"_rails":{"message":5,"pur":"cookie._app_session"}}', 'message not a string'],
    ['{"_rails":{"message":"e30","pur":"cookie._app_session"}}', 'message not padded base64'],
    ['{"_rails":{"message":"e30=","exp":5,"pur":"cookie._app_session"}}', 'expiry not a string'],
    ['{"_rails":{"message":"e30=","pur":["cookie._app_session"]}}', 'purpose not a string'],
    ['{"_rails":{"message":"WzFd","pur":"cookie._app_session"}}', 'session not an object'],
    ['{"_rails":{"message":"TmFO","pur":"cookie._app_session"}}', 'NaN: Ruby refuses it'],
    ['{"_rails":{"message":"/w==","pur":"cookie._app_session"}}', 'message not UTF-8'],
    [Buffer.from([0xff, 0xfe]), 'plaintext not UTF-8'],
    ['not json', 'plaintext not JSON'],
    ['', 'empty plaintext'],
  ]
  for (const [plaintext, why] of cases) {
    t.match(rails.decode(railsEncrypt(plaintext, BASE), NOW), { ok: false, reason: 'malformed' }, why)
  }
  t.match(
    rails.decode(
      railsEncrypt('{"_rails":{"message":"e30=","pur":"cookie._app_session","data":1}}', BASE),
      NOW,
    ),
    {
      ok: true,
      session: {},
    },
  )
})

t.test('the outer format: three strict base64 parts, a 12-byte IV, a 16-byte tag', async (t) => {
  const good = seal('{"a":1}')
  const [data, iv, tag] = good.split('--') as [string, string, string]
  const cases: [unknown, string][] = [
    ['', 'malformed'],
    [7, 'malformed'],
    [`${data}--${iv}`, 'malformed'],
    [`${good}--`, 'malformed'],
    [`${good}--${tag}`, 'malformed'],
    [`${data}--${iv}--${tag.slice(0, -4)}`, 'malformed'],
    [`${data}--${Buffer.alloc(16).toString('base64')}--${tag}`, 'malformed'],
    [`${data.replace(/=+$/, '')}--${iv}--${tag}`, data.endsWith('=') ? 'malformed' : 'bad-signature'],
    [`${data} --${iv}--${tag}`, 'malformed'],
    [`${data}--${iv}--${tag.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, 'bad-signature'],
    [`${Buffer.from('x').toString('base64')}--${iv}--${tag}`, 'bad-signature'],
    [`--${iv}--${tag}`, 'bad-signature'],
  ]
  for (const [value, reason] of cases) {
    t.match(rails.decode(value as string, NOW), { ok: false, reason }, JSON.stringify(value))
  }
  t.match(rails.decode('x'.repeat(9000), NOW), { ok: false, reason: 'too-large' })
  const small = new RailsEncryptedCookie([BASE], { cookieName: '_app_session', maxPayloadBytes: 10 })
  t.match(small.decode(good, NOW), { ok: false, reason: 'too-large' })
  const shallow = new RailsEncryptedCookie([BASE], { cookieName: '_app_session', maxDepth: 2 })
  t.match(shallow.decode(seal('{"a":[[1]]}'), NOW), { ok: false, reason: 'too-deep' })
})

t.test('bad configuration is a start-up error naming the field', async (t) => {
  t.throws(() => new RailsEncryptedCookie([], { cookieName: 'x' }), SessionFormatConfigError)
  t.throws(() => new RailsEncryptedCookie([BASE], { cookieName: '' }), /cookieName/)
  t.throws(() => new RailsEncryptedCookie([BASE], { cookieName: 'a b' }), /cookieName/)
  t.throws(() => new RailsEncryptedCookie([BASE], { cookieName: 'x', keyDigests: [] }), /keyDigests/)
  t.throws(
    () => new RailsEncryptedCookie([BASE], { cookieName: 'x', keyDigests: ['md5' as 'sha1'] }),
    /keyDigests/,
  )
  t.throws(() => new RailsEncryptedCookie([BASE], { cookieName: 'x', salt: '' }), /salt/)
})

t.test('the one-off function answers as the class does', async (t) => {
  const cookie = seal('{"a":1}')
  t.same(
    decodeRailsEncryptedCookie(cookie, [BASE], { cookieName: '_app_session', now: NOW }),
    rails.decode(cookie, NOW),
  )
})
