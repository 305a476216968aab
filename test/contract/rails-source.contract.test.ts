// The session contract against the Rails source, with the real Rails (Debian's ruby-rails, 6.1)
// writing every session through a tiny app's /login the way Devise does (`warden.user.user.key`
// = [[id], salt]), once with Rails 6.1's SHA-1 key derivation and once with Rails 7's SHA-256.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { RailsKeyDigest } from '../../src/session/formats/rails-cookie.js'
import { createRailsSource } from '../../src/session/sources/rails.js'
import { startLineApp } from '../harness/line-app.js'
import { identify, runSessionSourceContract } from './session-source.js'
import { type StatelessApp, statelessUnderTest } from './stateless-under-test.js'

const rails = startLineApp('ruby', ['test/fixtures/sessions/rails-login-app.rb'])
t.teardown(() => rails.stop())

const build = (
  secretKeyBases: readonly string[],
  keyDigests: readonly RailsKeyDigest[],
  cookieName = '_app_session',
) =>
  createRailsSource({
    cookieName,
    secretKeyBases,
    keyDigests,
    requirePurpose: true,
    userField: 'warden.user.user.key',
    userShape: 'devise',
    groupsField: 'groups',
  })

async function write(
  secret: string,
  user: string | null,
  groups: readonly string[],
  o: { digest: RailsKeyDigest; writtenAgoS?: number; expireAfterS?: number },
): Promise<string> {
  const answer = await rails.ask({
    secret,
    user,
    groups,
    digest: o.digest,
    written_ago_s: o.writtenAgoS ?? 0,
    expire_after_s: o.expireAfterS ?? null,
  })
  if (typeof answer.cookie !== 'string')
    throw new Error(`Rails set no session cookie: ${JSON.stringify(answer)}`)
  return answer.cookie
}

const newSecret = () => randomBytes(64).toString('hex')

for (const digest of ['sha1', 'sha256'] as const) {
  const app: StatelessApp = {
    cookieName: '_app_session',
    build: (secrets) => build(secrets, [digest]),
    write: (secret, user, groups, agoS) =>
      agoS === 0
        ? write(secret, user, groups, { digest })
        : // Rails' own expiry: expire_after, written into the envelope as `exp`.
          write(secret, user, groups, { digest, writtenAgoS: agoS, expireAfterS: 60 }),
    expiredAgoS: 3600,
    newSecret,
  }
  t.test(`Rails source, ${digest} key derivation`, async (t) => {
    runSessionSourceContract(t, async () => statelessUnderTest(app))
  })
}

t.test('Rails source: rotation, digests, purpose, expiry', async (t) => {
  const [oldBase, newBase] = [newSecret(), newSecret()]
  const cookie = await write(oldBase, 'alice', ['staff'], { digest: 'sha1' })
  const header = `_app_session=${cookie}`

  const both = await identify(build([newBase, oldBase], ['sha256', 'sha1']), header)
  t.same(
    both.ok && both.identity,
    { user: 'alice', groups: ['staff'] },
    'an older secret_key_base still reads it',
  )
  t.match(await identify(build([newBase], ['sha256', 'sha1']), header), { ok: false, why: 'bad-signature' })
  t.match(
    await identify(build([oldBase], ['sha256']), header),
    { ok: false, why: 'bad-signature' },
    'a Rails 6.1 cookie does not open with Rails 7 keys alone',
  )
  t.match(
    await identify(build([oldBase], ['sha1'], 'other_session'), `other_session=${cookie}`),
    { ok: false, why: 'wrong-purpose' },
    'the value is bound to its cookie name',
  )
  const live = await write(oldBase, 'alice', [], { digest: 'sha1', expireAfterS: 600 })
  t.ok((await identify(build([oldBase], ['sha1']), `_app_session=${live}`)).ok, 'within expire_after')
  const stale = await write(oldBase, 'alice', [], { digest: 'sha1', writtenAgoS: 700, expireAfterS: 600 })
  t.match(await identify(build([oldBase], ['sha1']), `_app_session=${stale}`), { ok: false, why: 'expired' })
})
