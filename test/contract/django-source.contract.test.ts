// The session contract against the Django source (signed_cookies backend), with the real Django
// (Debian's python3-django) writing every session through its own SessionMiddleware, the user
// where django.contrib.auth's login() keeps it (`_auth_user_id`).
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { DJANGO_DEFAULT_SESSION_COOKIE_AGE } from '../../src/session/formats/django-signing.js'
import { createDjangoSource } from '../../src/session/sources/django.js'
import { startLineApp } from '../harness/line-app.js'
import { identify, runSessionSourceContract } from './session-source.js'
import { type StatelessApp, statelessUnderTest } from './stateless-under-test.js'

const django = startLineApp('/usr/bin/python3', ['test/fixtures/sessions/django-login-app.py'])
t.teardown(() => django.stop())

const build = (secretKeys: readonly string[], maxAgeSeconds = DJANGO_DEFAULT_SESSION_COOKIE_AGE) =>
  createDjangoSource({
    cookieName: 'sessionid',
    secretKeys,
    maxAgeSeconds,
    legacySha1: false,
    userField: '_auth_user_id',
    groupsField: 'groups',
  })

const app: StatelessApp = {
  cookieName: 'sessionid',
  build: (secrets) => build(secrets),
  async write(secret, user, groups, signedAgoS) {
    const answer = await django.ask({ secret, user, groups, signed_ago_s: signedAgoS })
    if (typeof answer.cookie !== 'string')
      throw new Error(`Django set no session cookie: ${JSON.stringify(answer)}`)
    return answer.cookie
  },
  expiredAgoS: DJANGO_DEFAULT_SESSION_COOKIE_AGE + 60,
  newSecret: () => `django-insecure-${randomBytes(24).toString('hex')}`,
}

t.test('Django source (signed_cookies)', async (t) => {
  runSessionSourceContract(t, async () => statelessUnderTest(app))
})

t.test('Django source: SECRET_KEY_FALLBACKS, SESSION_COOKIE_AGE', async (t) => {
  const [oldKey, newKey] = [app.newSecret(), app.newSecret()]
  const header = `sessionid=${await app.write(oldKey, 'alice', ['staff'], 0)}`
  const rotated = await identify(build([newKey, oldKey]), header)
  t.same(
    rotated.ok && rotated.identity,
    { user: 'alice', groups: ['staff'] },
    'a fallback key still reads it',
  )
  t.match(await identify(build([newKey]), header), { ok: false, why: 'bad-signature' })
  const old = `sessionid=${await app.write(oldKey, 'alice', [], 120)}`
  t.match(
    await identify(build([oldKey], 60), old),
    { ok: false, why: 'expired' },
    'SESSION_COOKIE_AGE is the max age',
  )
  t.ok((await identify(build([oldKey], 600), old)).ok, 'and younger is fine')
})
