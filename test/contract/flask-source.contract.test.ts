// The session contract against the Flask source, with the real Flask (Debian's python3-flask)
// writing every session through a tiny app's /login, as flask-login would (`_user_id`).
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { FLASK_DEFAULT_MAX_AGE_SECONDS } from '../../src/session/formats/flask-session-cookie.js'
import { createFlaskSource } from '../../src/session/sources/flask.js'
import { startLineApp } from '../harness/line-app.js'
import { identify, runSessionSourceContract } from './session-source.js'
import { type StatelessApp, statelessUnderTest } from './stateless-under-test.js'

const flask = startLineApp('/usr/bin/python3', ['test/fixtures/sessions/flask-login-app.py'])
t.teardown(() => flask.stop())

const build = (secretKeys: readonly string[], maxAgeSeconds = FLASK_DEFAULT_MAX_AGE_SECONDS) =>
  createFlaskSource({
    cookieName: 'session',
    secretKeys,
    maxAgeSeconds,
    salt: 'cookie-session',
    userField: '_user_id',
    groupsField: 'groups',
  })

const app: StatelessApp = {
  cookieName: 'session',
  build: (secrets) => build(secrets),
  async write(secret, user, groups, signedAgoS) {
    const answer = await flask.ask({ secret, user, groups, signed_ago_s: signedAgoS })
    if (typeof answer.cookie !== 'string')
      throw new Error(`Flask set no session cookie: ${JSON.stringify(answer)}`)
    return answer.cookie
  },
  expiredAgoS: FLASK_DEFAULT_MAX_AGE_SECONDS + 60,
  newSecret: () => randomBytes(24).toString('hex'),
}

t.test('Flask source', async (t) => {
  runSessionSourceContract(t, async () => statelessUnderTest(app))
})

t.test('Flask source: secret rotation, max age, refusal reasons', async (t) => {
  const [oldKey, newKey] = [app.newSecret(), app.newSecret()]
  const cookie = await app.write(oldKey, 'alice', ['staff'], 0)
  const header = `session=${cookie}`

  const rotated = await identify(build([newKey, oldKey]), header)
  t.equal(
    rotated.ok && rotated.identity.user,
    'alice',
    'a fallback key (SECRET_KEY_FALLBACKS) still reads it',
  )

  const dropped = await identify(build([newKey]), header)
  t.match(dropped, { ok: false, why: 'bad-signature' }, 'once the key is dropped: bad-signature')

  const old = await identify(build([oldKey], 60), `session=${await app.write(oldKey, 'alice', [], 120)}`)
  t.match(old, { ok: false, why: 'expired' }, 'PERMANENT_SESSION_LIFETIME is the max age')

  const source = build([oldKey])
  t.notOk(source.identify(header) instanceof Promise, 'answers without I/O')
  t.match(source.identify('session=not-a-cookie'), { ok: false, why: 'malformed' })
})
