// The Flask, Django (signed_cookies) and Rails sources remember the cookie values they accepted.
// A remembered value must be answered exactly as a fresh decode would answer it: refused once its
// age or expiry says so (on a memo hit, with no second decode), refused at once by a gateway whose
// secrets no longer include its key, and a refused value never remembered at all.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import {
  DJANGO_SIGNED_COOKIES_SALT,
  DjangoSignedCookieSession,
} from '../../src/session/formats/django-signing.js'
import { FlaskSessionCookie } from '../../src/session/formats/flask-session-cookie.js'
import { RailsEncryptedCookie } from '../../src/session/formats/rails-cookie.js'
import type { IdentityResult } from '../../src/session/session-source.js'
import { type SessionDecoder, StatelessCookieSource } from '../../src/session/sources/stateless-cookie.js'
import { djangoSign, flaskSign, railsEncrypt, railsEnvelope } from '../fixtures/sessions/signed-writers.js'

const MAX_AGE_S = 3600
const SIGNED_AT_S = 1_800_000_000
const T0 = SIGNED_AT_S * 1000

interface Framework {
  readonly name: 'flask' | 'django' | 'rails'
  readonly cookieName: string
  decoder(secrets: readonly string[]): SessionDecoder
  /** A cookie header for `session`, signed at SIGNED_AT_S (Rails: expiring at T0 + MAX_AGE_S). */
  write(secret: string, session: object): string
  /** The last ms a value written at T0 is accepted, and the first it is refused. */
  readonly lastAccepted: number
}

const frameworks: readonly Framework[] = [
  {
    name: 'flask',
    cookieName: 'session',
    decoder: (secrets) => new FlaskSessionCookie(secrets, { maxAgeSeconds: MAX_AGE_S }),
    write: (secret, session) => `session=${flaskSign(JSON.stringify(session), secret, SIGNED_AT_S)}`,
    // itsdangerous: int(now) - timestamp > max_age is refused.
    lastAccepted: (SIGNED_AT_S + MAX_AGE_S + 1) * 1000 - 1,
  },
  {
    name: 'django',
    cookieName: 'sessionid',
    decoder: (secrets) => new DjangoSignedCookieSession(secrets, { maxAgeSeconds: MAX_AGE_S }),
    write: (secret, session) =>
      `sessionid=${djangoSign(JSON.stringify(session), secret, DJANGO_SIGNED_COOKIES_SALT, SIGNED_AT_S)}`,
    // Django: now - timestamp > max_age (as floats) is refused.
    lastAccepted: (SIGNED_AT_S + MAX_AGE_S) * 1000,
  },
  {
    name: 'rails',
    cookieName: '_app_session',
    decoder: (secrets) => new RailsEncryptedCookie(secrets, { cookieName: '_app_session' }),
    write: (secret, session) => {
      const exp = new Date(T0 + MAX_AGE_S * 1000).toISOString()
      const value = railsEncrypt(railsEnvelope(JSON.stringify(session), 'cookie._app_session', exp), secret)
      return `_app_session=${encodeURIComponent(value)}`
    },
    // Rails: refused from the `exp` instant on.
    lastAccepted: T0 + MAX_AGE_S * 1000 - 1,
  },
]

const ALICE = { _user_id: 'alice', groups: ['staff'] }

/** A source on `decoder` whose clock the test sets, and how many decodes it made. */
function sourceOf(f: Framework, decoder: SessionDecoder) {
  const clock = { now: T0, decodes: 0 }
  const counting: SessionDecoder = {
    decode: (value, now) => {
      clock.decodes++
      return decoder.decode(value, now)
    },
    timeRefusal: (accepted, now) => decoder.timeRefusal(accepted, now),
  }
  const source = new StatelessCookieSource({
    name: f.name,
    cookieName: f.cookieName,
    decoder: counting,
    userField: '_user_id',
    userShape: 'value',
    groupsField: 'groups',
    now: () => clock.now,
  })
  return { source, clock }
}

/** What a source that never saw the value answers at `now`, on the same decoder's rules. */
function freshAnswer(f: Framework, decoder: SessionDecoder, header: string, now: number): IdentityResult {
  const { source, clock } = sourceOf(f, decoder)
  clock.now = now
  return source.identify(header) as IdentityResult
}

for (const f of frameworks) {
  t.test(`${f.name}: a remembered value expires on the very request a fresh decode refuses it`, async (t) => {
    const secret = randomBytes(32).toString('hex')
    const decoder = f.decoder([secret])
    const header = f.write(secret, ALICE)
    const { source, clock } = sourceOf(f, decoder)

    t.match(source.identify(header), { ok: true, identity: { user: 'alice', groups: ['staff'] } })
    t.equal(clock.decodes, 1)
    clock.now = f.lastAccepted
    t.match(source.identify(header), { ok: true, identity: { user: 'alice' } }, 'still within its time')
    clock.now = f.lastAccepted + 1
    t.match(source.identify(header), { ok: false, why: 'expired' }, 'one ms later: expired')
    clock.now = f.lastAccepted + 86_400_000
    t.match(source.identify(header), { ok: false, why: 'expired' }, 'a day later: expired')
    t.equal(clock.decodes, 1, 'each of those answers came from the memo')

    // Around the limit, and with the clock set back before the signature, the memo answers what a
    // decoder that never saw the value answers.
    for (const at of [T0 - 1000, T0 - 1, T0, f.lastAccepted - 1, f.lastAccepted, f.lastAccepted + 1]) {
      clock.now = at
      t.same(
        source.identify(header),
        freshAnswer(f, f.decoder([secret]), header, at),
        `at T0${at >= T0 ? '+' : ''}${at - T0} ms`,
      )
    }
    t.equal(clock.decodes, 1, 'still never decoded again')
  })

  t.test(
    `${f.name}: a secret taken out refuses at once, though a gateway with it remembered the value`,
    async (t) => {
      const [oldSecret, newSecret] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')]
      const header = f.write(oldSecret, ALICE)
      const during = sourceOf(f, f.decoder([newSecret, oldSecret]))
      t.match(
        during.source.identify(header),
        { ok: true, identity: { user: 'alice' } },
        'during the rotation',
      )
      t.match(during.source.identify(header), { ok: true }, 'remembered')
      t.equal(during.clock.decodes, 1)

      const after = sourceOf(f, f.decoder([newSecret]))
      t.match(after.source.identify(header), { ok: false, why: 'bad-signature' }, 'old secret gone: refused')
      t.equal(after.clock.decodes, 1, 'decoded afresh, not answered from the other key set')
      t.match(during.source.identify(header), { ok: true }, 'the other key set is not disturbed')
    },
  )

  t.test(`${f.name}: refusals are never remembered, an authentic session without a user is`, async (t) => {
    const secret = randomBytes(32).toString('hex')
    const decoder = f.decoder([secret])
    const { source, clock } = sourceOf(f, decoder)
    t.match(source.identify(f.write(secret, ALICE)), { ok: true }, 'the memo holds a value already')
    const forged = f.write(randomBytes(32).toString('hex'), ALICE)
    for (let i = 0; i < 3; i++) t.match(source.identify(forged), { ok: false, why: 'bad-signature' })
    t.equal(clock.decodes, 4, 'a forged value is decoded, and refused, every time')

    clock.now = f.lastAccepted + 1
    const header = f.write(secret, { ...ALICE, visit: 2 })
    t.match(source.identify(header), { ok: false, why: 'expired' })
    clock.now = T0
    t.match(source.identify(header), { ok: true }, 'accepted when the clock allows it, as a fresh decode')
    t.equal(clock.decodes, 6, 'the expired refusal was not remembered')

    const anonymous = f.write(secret, { groups: ['staff'] })
    t.match(source.identify(anonymous), { ok: false, why: 'no-user' })
    t.match(source.identify(anonymous), { ok: false, why: 'no-user' })
    t.equal(clock.decodes, 7, 'no user in an authentic session: the same answer, remembered')
    clock.now = f.lastAccepted + 1
    t.match(source.identify(anonymous), { ok: false, why: 'expired' }, 'and it expires all the same')
  })
}

t.test('a remembered identity is frozen: no request can change what the next one gets', async (t) => {
  const f = frameworks[0] as Framework
  const secret = randomBytes(32).toString('hex')
  const { source } = sourceOf(f, f.decoder([secret]))
  const answer = source.identify(f.write(secret, ALICE))
  t.ok(answer.ok && Object.isFrozen(answer.identity) && Object.isFrozen(answer.identity.groups))
})
