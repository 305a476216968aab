// Everything that lives in Redis, on a Redis Cluster (3 primaries, 3 replicas) and on a Sentinel
// group (1 primary, 2 replicas, 3 sentinels, passwords on both the data nodes and the sentinels):
// the session contract for the connect source (client cache asked for, and turned off by the
// store), PHP sessions written by real phpredis into the cluster, and links and tokens with their
// counts exact under concurrency. Each topology is started once for this file.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { RedisCredentialStore } from '../../src/credentials/redis-credential-store.js'
import type { RedisConnectionSettings } from '../../src/redis/connection.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import { ConnectSessionSource } from '../../src/session/sources/connect.js'
import { PhpRedisStorage } from '../../src/session/sources/php/php-redis-storage.js'
import { PhpSessionSource } from '../../src/session/sources/php/php-source.js'
import { type PhpSessionIni, phpSessionCli } from '../harness/php.js'
import { startRedisCluster, startRedisSentinel } from '../harness/redis-ha.js'
import { runSessionSourceContract, type SourceUnderTest } from './session-source.js'

const SECRET = 'contract-secret-contract-secret-0123456789'
const DATA_PASSWORD = 'data-password-for-tests'
const SENTINEL_PASSWORD = 'sentinel-password-for-tests'

const cluster = await startRedisCluster()
t.teardown(() => cluster.stop())
const group = await startRedisSentinel({ password: DATA_PASSWORD, sentinelPassword: SENTINEL_PASSWORD })
t.teardown(() => group.stop())

const nodesOf = (list: readonly string[]) =>
  list.map((s) => ({ host: s.split(':')[0] as string, port: Number(s.split(':')[1]) }))

const TOPOLOGIES: Record<'cluster' | 'sentinel', RedisConnectionSettings> = {
  cluster: {
    mode: 'cluster',
    url: '',
    nodes: nodesOf(cluster.seeds),
    masterName: undefined,
    password: undefined,
    sentinelPassword: undefined,
    tls: false,
    connectTimeoutMs: 1000,
  },
  sentinel: {
    mode: 'sentinel',
    url: '',
    nodes: nodesOf(group.sentinels),
    masterName: group.masterName,
    password: DATA_PASSWORD,
    sentinelPassword: SENTINEL_PASSWORD,
    tls: false,
    connectTimeoutMs: 1000,
  },
}

for (const [name, settings] of Object.entries(TOPOLOGIES)) {
  t.test(`connect source over Redis ${name}, client cache asked for`, async (t) => {
    const store = new RedisSessionStore({
      ...settings,
      keyPrefix: 'sess:',
      commandTimeoutMs: 1000,
      clientCache: true,
      onError: () => {},
    })
    await store.connect()
    t.teardown(() => store.close())
    const verifier = new SessionCookieVerifier([SECRET], 's:')
    const source = new ConnectSessionSource({
      cookieName: 'sid',
      verifier,
      store,
      userIdField: ['user', 'id'],
      groupsField: ['user', 'groups'],
    })
    const write = async (data: Record<string, unknown>) => {
      const id = randomBytes(18).toString('base64url')
      await store.set(id, data, 3600)
      return encodeURIComponent(verifier.sign(id))
    }
    const expires = (ms: number) => ({ cookie: { expires: new Date(Date.now() + ms).toISOString() } })
    const under: SourceUnderTest = {
      source,
      cookieName: 'sid',
      login: (user, groups) =>
        write({ ...expires(3_600_000), ...(user === null ? {} : { user: { id: user, groups } }) }),
      loginExpired: (user) => write({ ...expires(-1000), user: { id: user, groups: [] } }),
      logout: async (cookie) => {
        const verdict = verifier.verify(decodeURIComponent(cookie))
        if (!verdict.ok) throw new Error('logout of a cookie that does not verify')
        await store.destroy(verdict.sessionId)
      },
    }
    runSessionSourceContract(t, async () => under)
    t.test('the client cache stayed off: nothing was kept in memory', async (t) => {
      const cookie = await under.login('carol', [])
      for (let i = 0; i < 3; i++) await source.read(source.identify(`sid=${cookie}`) as never)
      t.equal(store.cachedSessions, 0)
      t.equal(store.cacheCounts, undefined)
    })
  })

  t.test(`links and tokens over Redis ${name}`, async (t) => {
    const store = new RedisCredentialStore({ ...settings, commandTimeoutMs: 2000 })
    await store.connect()
    t.teardown(() => store.close())
    const expiresAt = Math.floor(Date.now() / 1000) + 600
    // Many links, so on the cluster they spread over every primary's slots.
    for (let i = 0; i < 12; i++) {
      const id = randomBytes(12).toString('base64url')
      const answers = await Promise.all(Array.from({ length: 40 }, () => store.admitLink(id, 7, expiresAt)))
      t.equal(answers.filter((a) => a === 'ok').length, 7, `link ${i}: exactly 7 admitted`)
      t.equal(answers.filter((a) => a === 'used-up').length, 33, `link ${i}: the rest used up`)
    }
    const id = randomBytes(12).toString('base64url')
    t.equal(await store.admitLink(id, undefined, expiresAt), 'ok', 'unlimited link admitted')
    await store.revokeLink(id, expiresAt + 60)
    t.equal(await store.admitLink(id, undefined, expiresAt), 'revoked', 'revoked from the next request on')
    t.equal(await store.admitLink(id, 3, expiresAt), 'revoked', 'a revoked limited link too')

    const record = {
      id: randomBytes(9).toString('base64url'),
      hash: 'h'.repeat(43),
      user: 'dave',
      groups: ['staff'],
      issuedAt: expiresAt - 600,
      expiresAt,
    }
    await store.putToken(record as never)
    t.same(await store.getToken(record.id), record, 'token read back')
    t.equal(await store.revokeToken(record.id), true, 'revoked')
    t.equal((await store.getToken(record.id))?.revoked, true, 'read back revoked')
    t.equal(await store.revokeToken('no-such-token'), false, 'unknown token: nothing revoked')
    t.equal(await store.getToken('no-such-token'), null)
  })
}

t.test('php source, phpredis writing into the Redis Cluster (rediscluster handler)', async (t) => {
  const ini: PhpSessionIni = {
    saveHandler: 'rediscluster',
    // Quoted: php -d reads the value as a php.ini line, where a bare `=` ends it.
    savePath: `"${cluster.seeds.map((s) => `seed[]=${s}`).join('&')}"`,
  }
  const storage = new PhpRedisStorage({
    ...TOPOLOGIES.cluster,
    keyPrefix: 'PHPREDIS_CLUSTER_SESSION:',
    commandTimeoutMs: 1000,
    maxBytes: 1 << 20,
    onError: () => {},
  })
  await storage.connected()
  t.teardown(() => storage.close())
  const source = new PhpSessionSource({
    cookieName: 'PHPSESSID',
    idShape: { sidLength: 32, sidBitsPerCharacter: 4 },
    storage,
    serializeHandler: 'php',
    objects: 'inert',
    userIdKey: ['user_id'],
    groupsKey: ['roles'],
  })
  runSessionSourceContract(t, async () => ({
    source,
    cookieName: 'PHPSESSID',
    login: (user, groups) => phpSessionCli(ini, ['login', user ?? '-', groups.join(',')]),
    logout: async (id) => {
      t.equal(await phpSessionCli(ini, ['logout', id]), 'ok')
    },
  }))
})
