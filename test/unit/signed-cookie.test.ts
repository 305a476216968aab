import { createHmac } from 'node:crypto'
import t from 'tap'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'

const OLD = 'old-secret-old-secret-old-secret-0000'
const NEW = 'new-secret-new-secret-new-secret-1111'
// The signature express-session and @fastify/session both write (cookie-signature's format).
const sign = (id: string, secret: string) =>
  `${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`

t.test('signed cookie: a correctly signed id is accepted', async (t) => {
  const v = new SessionCookieVerifier([NEW], '')
  t.same(v.verify(sign('abc123', NEW)), { ok: true, sessionId: 'abc123' })
})
t.test('signed cookie: any secret of the list verifies, so secrets can rotate', async (t) => {
  const v = new SessionCookieVerifier([NEW, OLD], '')
  t.same(v.verify(sign('abc123', OLD)), { ok: true, sessionId: 'abc123' })
  t.equal(v.sign('xyz'), sign('xyz', NEW), 'new cookies are signed with the first secret')
})
t.test('signed cookie: a tampered id or signature is refused', async (t) => {
  const v = new SessionCookieVerifier([NEW], '')
  const good = sign('abc123', NEW)
  t.same(v.verify(good.replace('abc123', 'abc124')), { ok: false, reason: 'bad-signature' })
  t.same(v.verify(`${good.slice(0, -1)}A`), { ok: false, reason: 'bad-signature' })
  t.same(v.verify(sign('abc123', 'some-other-secret-some-other-secret')), {
    ok: false,
    reason: 'bad-signature',
  })
})
t.test('signed cookie: missing or unsigned cookies are refused', async (t) => {
  const v = new SessionCookieVerifier([NEW], '')
  t.same(v.verify(undefined), { ok: false, reason: 'no-cookie' })
  t.same(v.verify(''), { ok: false, reason: 'no-cookie' })
  t.same(v.verify('abc123'), { ok: false, reason: 'bad-format' })
  t.same(v.verify('.sig'), { ok: false, reason: 'bad-format' })
  t.same(v.verify(`${'a'.repeat(600)}.sig`), { ok: false, reason: 'bad-format' })
})
t.test("signed cookie: express-session's s: prefix is required when configured", async (t) => {
  const v = new SessionCookieVerifier([NEW], 's:')
  t.same(v.verify(`s:${sign('abc', NEW)}`), { ok: true, sessionId: 'abc' })
  t.same(v.verify(sign('abc', NEW)), { ok: false, reason: 'bad-format' })
})

t.test('signed cookie: the value as sent is decoded, then verified; known ones are remembered', async (t) => {
  const v = new SessionCookieVerifier([NEW], 's:')
  const value = `s:${sign('id+/=', NEW)}`
  const sent = encodeURIComponent(value)
  t.not(sent, value, 'the sent form differs: it needs decoding')
  t.same(v.verifySent(sent), { ok: true, sessionId: 'id+/=' })
  t.equal(v.verifySent(sent), v.verifySent(sent), 'the same verdict object: remembered')
  t.same(v.verifySent(value), { ok: true, sessionId: 'id+/=' }, 'an unencoded value works too')
  // A broken escape is kept as it is, as the cookie package does, and then fails verification.
  t.same(v.verifySent(`${value}%E0%A4%A`), { ok: false, reason: 'bad-signature' })
  t.same(v.verifySent(undefined), { ok: false, reason: 'no-cookie' })
  t.same(v.verifySent(''), { ok: false, reason: 'no-cookie' })
  const tampered = encodeURIComponent(`s:${sign('other', NEW)}`).replace('other', 'other2')
  t.same(v.verifySent(tampered), { ok: false, reason: 'bad-signature' })
  t.same(
    v.verifySent(tampered),
    { ok: false, reason: 'bad-signature' },
    'refusals are not remembered as valid',
  )
})
