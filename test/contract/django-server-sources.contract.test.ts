// The session contract against Django's server-side backends, with the real Django (Debian's
// python3-django), django.contrib.auth's own login() and logout(), its tables on a real PostgreSQL,
// and for cache and cached_db django-redis on a real Redis. Then what only these backends can do:
// the auth tables (inactive users, groups, a changed password), expire_date, a secret rotated out,
// and hostile pickles planted where django-redis keeps sessions.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createClient } from 'redis'
import t from 'tap'
import type { DjangoConfig } from '../../src/config/django-config.js'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_UNREADABLE,
  GW_ERR_SESSION_USER_REVOKED,
} from '../../src/errors.js'
import type { SessionSource } from '../../src/session/session-source.js'
import { StoreUnavailableError } from '../../src/session/session-store.js'
import { createDjangoSessionSource } from '../../src/session/sources/django.js'
import { type DjangoServerEngine, type DjangoSite, startDjangoSite } from '../harness/django-site.js'
import { type PostgresServer, startPostgres } from '../harness/postgres.js'
import { type RedisServer, startRedis } from '../harness/redis.js'
import { identify, runSessionSourceContract } from './session-source.js'

const ENGINES: readonly DjangoServerEngine[] = ['db', 'cache', 'cached_db']

let postgres: PostgresServer
let redis: RedisServer
t.before(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
})
t.teardown(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()])
})

function djangoConfig(
  engine: DjangoServerEngine,
  site: DjangoSite,
  secretKeys: readonly string[],
  auth: Partial<DjangoConfig['auth']> = {},
): DjangoConfig {
  return {
    backend: engine,
    cookieName: 'sessionid',
    secretKeys,
    maxAgeSeconds: 1209600,
    legacySha1: false,
    userField: '_auth_user_id',
    groupsField: 'groups',
    answerCacheMs: 0,
    answerCacheMaxEntries: 100,
    database: {
      url: undefined,
      host: '127.0.0.1',
      port: postgres.port,
      name: site.databaseName,
      user: postgres.user,
      password: postgres.password,
      poolSize: 2,
      connectTimeoutMs: 1000,
      statementTimeoutMs: 500,
      sessionTable: 'django_session',
      userTable: 'auth_user',
      userGroupsTable: 'auth_user_groups',
      groupTable: 'auth_group',
    },
    auth: {
      enabled: true,
      groups: true,
      requireActive: true,
      verifySessionHash: true,
      userColumn: 'username',
      ...auth,
    },
    cache: { keyPrefix: '', version: 1, redisDb: 0 },
  }
}

/** A source, once its connections are up (until then its reads fail closed, 503). */
async function build(c: DjangoConfig): Promise<SessionSource> {
  const source = createDjangoSessionSource(c, {
    redis: { url: redis.url, password: undefined, connectTimeoutMs: 1000, commandTimeoutMs: 500 },
  })
  for (let i = 0; ; i++) {
    const up = await source.ping().then(
      () => true,
      (err: unknown) => (i < 50 ? false : Promise.reject(err)),
    )
    if (up) return source
    await new Promise((r) => setTimeout(r, 100))
  }
}

const cookieValue = (pair: string) => pair.slice('sessionid='.length)
const newSecret = () => `django-insecure-${randomBytes(24).toString('hex')}`

for (const engine of ENGINES) {
  t.test(`Django source, ${engine} backend`, async (t) => {
    const secret = newSecret()
    const site = await startDjangoSite({ engine, secret, postgres, redis })
    t.teardown(() => site.stop())
    const source = await build(djangoConfig(engine, site, [secret]))
    t.teardown(() => source.close())

    t.test('the shared contract', async (t) => {
      runSessionSourceContract(t, async () => ({
        source,
        cookieName: 'sessionid',
        login: async (user, groups) =>
          cookieValue(user === null ? await site.anonymous() : (await site.login(user, groups)).cookie),
        // set_expiry in the past: db keeps the row with a past expire_date; the cache forgets it.
        loginExpired: async (user) => cookieValue((await site.login(user, [], -60)).cookie),
        logout: async (value) => {
          await site.call('/logout', `sessionid=${value}`)
        },
        breakStore: async () => {
          if (engine === 'db') {
            await postgres.halt()
            return () => postgres.start()
          }
          redis.pause()
          return async () => redis.resume()
        },
      }))
    })

    t.test('the auth tables: inactive, groups, a changed password, a removed user', async (t) => {
      const { cookie } = await site.login('carol', ['finance', 'staff'])
      t.same(await identify(source, header(cookie)), {
        ok: true,
        identity: { user: 'carol', groups: ['finance', 'staff'] },
      })
      await site.call('/ungroup?user=carol&group=finance')
      t.same(
        await identify(source, header(cookie)),
        { ok: true, identity: { user: 'carol', groups: ['staff'] } },
        'a group removed in the app is gone on the next read',
      )
      await site.call('/password?user=carol')
      t.match(
        await identify(source, header(cookie)),
        { ok: false, reason: GW_ERR_SESSION_USER_REVOKED, why: 'auth-hash' },
        "a changed password ends the session, as Django's get_user() does",
      )
      const second = await site.login('carol', ['staff'])
      t.ok((await identify(source, header(second.cookie))).ok, 'a new login works again')
      await site.call('/deactivate?user=carol')
      t.match(
        await identify(source, header(second.cookie)),
        { ok: false, reason: GW_ERR_SESSION_USER_REVOKED, why: 'inactive' },
        'an inactive user is nobody',
      )
      const dave = await site.login('dave', [])
      // The auth tables live in the site's own database.
      const inSite = await sqlInSite(site, `DELETE FROM auth_user WHERE username = 'dave'`)
      t.equal(inSite, 1, 'dave removed')
      t.match(await identify(source, header(dave.cookie)), {
        ok: false,
        reason: GW_ERR_SESSION_USER_REVOKED,
        why: 'user-gone',
      })
    })

    t.test('without the auth tables: the pk and the session groups', async (t) => {
      if (engine !== 'cache') return t.pass('the auth tables are checked above')
      const plain = await build(djangoConfig(engine, site, [secret], { enabled: false }))
      t.teardown(() => plain.close())
      const { cookie, pk } = await site.login('erin', ['team'])
      t.same(await identify(plain, header(cookie)), { ok: true, identity: { user: pk, groups: ['team'] } })
    })

    t.test('the secret rotated out: session_data no longer verifies', async (t) => {
      if (engine === 'cache') return t.pass('the cache keeps the session unsigned, as Django does')
      const { cookie } = await site.login('frank', [])
      if (engine === 'cached_db') await dropCached(site, cookieValue(cookie), engine)
      const rotated = await build(djangoConfig(engine, site, [newSecret()]))
      t.teardown(() => rotated.close())
      t.match(await identify(rotated, header(cookie)), {
        ok: false,
        reason: GW_ERR_SESSION_UNREADABLE,
        why: 'bad-signature',
      })
      const both = await build(djangoConfig(engine, site, [newSecret(), secret], { verifySessionHash: true }))
      t.teardown(() => both.close())
      t.ok((await identify(both, header(cookie))).ok, 'SECRET_KEY_FALLBACKS still verify it')
    })

    t.test('expire_date in the past: expired (db), missing from the cache', async (t) => {
      const { cookie } = await site.login('gina', [], -60)
      const r = await identify(source, header(cookie))
      t.match(r, { ok: false })
      if (!r.ok) t.equal(r.reason, engine === 'cache' ? GW_ERR_SESSION_UNKNOWN : GW_ERR_SESSION_EXPIRED)
    })

    t.test('a session key of the wrong shape never reaches the store', async (t) => {
      for (const key of ["x' OR '1'='1", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 'short', 'a'.repeat(41)]) {
        t.match(await identify(source, header(`sessionid=${encodeURIComponent(key)}`)), {
          ok: false,
          reason: GW_ERR_BAD_COOKIE,
          why: 'django-bad-key',
        })
      }
    })

    t.test('hostile pickles where django-redis keeps the session: refused, never run', async (t) => {
      if (engine === 'db') return t.pass('no pickles in the table')
      const client = createClient({ url: redis.url })
      await client.connect()
      t.teardown(() => client.close())
      const marker = `/tmp/gw-pickle-ran-${randomBytes(6).toString('hex')}`
      // BUILD on a dict: what a pickled instance's state looks like, by hand (Python names the
      // class first, which is refused as a global before any BUILD).
      const build = Buffer.concat([
        Buffer.from([0x80, 0x02, 0x7d, 0x58, 13, 0, 0, 0]),
        Buffer.from('_auth_user_id'),
        Buffer.from([0x58, 1, 0, 0, 0, 0x31, 0x73, 0x7d, 0x62, 0x2e]),
      ])
      const cases: [string, Buffer][] = [
        ['pickle-global', pythonPickle(`v = {"_auth_user_id": "1", "x": Evil()}`, marker)],
        ['pickle-reduce', pythonPickle(`v = {"_auth_user_id": "1", "x": Reducer()}`, marker)],
        ['pickle-object', build],
      ]
      for (const [why, bytes] of cases) {
        const key = randomBytes(16).toString('hex')
        await client.set(`:1:django.contrib.sessions.${engine}${key}`, bytes)
        t.match(
          await identify(source, header(`sessionid=${key}`)),
          { ok: false, reason: GW_ERR_SESSION_UNREADABLE, why },
          why,
        )
      }
      const key = randomBytes(16).toString('hex')
      await client.set(
        `:1:django.contrib.sessions.${engine}${key}`,
        pythonPickle('v = ["_auth_user_id"]', marker),
      )
      t.match(
        await identify(source, header(`sessionid=${key}`)),
        { why: 'not-a-dict' },
        'a list is no session',
      )
      t.throws(() => execFileSync('test', ['-e', marker]), 'nothing ran')
    })
  })
}

t.test('answer_cache_ms: an answer kept at most that long, a refusal never', async (t) => {
  const secret = newSecret()
  const site = await startDjangoSite({ engine: 'db', secret, postgres })
  t.teardown(() => site.stop())
  const source = await build({ ...djangoConfig('db', site, [secret]), answerCacheMs: 1500 })
  t.teardown(() => source.close())
  const { cookie } = await site.login('ivan', ['finance'])
  t.ok((await identify(source, header(cookie))).ok)
  const kept = source.identify(header(cookie))
  t.same(kept, { ok: true, identity: { user: 'ivan', groups: ['finance'] } }, 'answered with no read')
  await site.call('/deactivate?user=ivan')
  t.ok((await identify(source, header(cookie))).ok, 'within the bound, the kept answer')
  await new Promise((r) => setTimeout(r, 1600))
  t.match(await identify(source, header(cookie)), { ok: false, why: 'inactive' }, 'past it, the truth')
  t.match(source.identify(header(cookie)), { pendingRead: true }, 'and the refusal is not kept')
})

t.test('a PostgreSQL outage is 503, never a 401 or someone', async (t) => {
  const secret = newSecret()
  const site = await startDjangoSite({ engine: 'db', secret, postgres })
  t.teardown(() => site.stop())
  const source = await build(djangoConfig('db', site, [secret]))
  t.teardown(() => source.close())
  const { cookie } = await site.login('hank', [])
  t.ok((await identify(source, header(cookie))).ok)
  await postgres.halt()
  try {
    await t.rejects(identify(source, header(cookie)), StoreUnavailableError)
    await t.rejects(source.ping(), StoreUnavailableError)
  } finally {
    await postgres.start()
  }
  t.ok((await identify(source, header(cookie))).ok, 'back once PostgreSQL is')
  t.match(await identify(source, header(await site.anonymous())), { reason: GW_ERR_SESSION_NO_USER })
})

function header(pair: string): string {
  return `csrftoken=x; ${pair}`
}

async function sqlInSite(site: DjangoSite, text: string): Promise<number> {
  const { Client } = (await import('pg')).default
  const client = new Client({
    host: '127.0.0.1',
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    database: site.databaseName,
  })
  await client.connect()
  try {
    return (await client.query(text)).rowCount ?? 0
  } finally {
    await client.end()
  }
}

async function dropCached(_site: DjangoSite, key: string, engine: DjangoServerEngine): Promise<void> {
  const client = createClient({ url: redis.url })
  await client.connect()
  await client.del(`:1:django.contrib.sessions.${engine}${key}`)
  await client.close()
}

/** What django-redis would store for the value `v` the Python statement makes (pickle.dumps, protocol 5). */
function pythonPickle(statement: string, marker: string): Buffer {
  const program = `
import datetime, os, pickle, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch ${marker}",))
class Reducer:
    def __reduce__(self):
        return (datetime.datetime, ("not a datetime's state",))
${statement}
sys.stdout.buffer.write(pickle.dumps(v, pickle.HIGHEST_PROTOCOL))
`
  return execFileSync('/usr/bin/python3', ['-c', program])
}
