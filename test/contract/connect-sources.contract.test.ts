// The session contract against the connect-style source (express-session / @fastify/session
// cookies) over every store the gateway has: the embedded memory store, and a real redis-server
// with the client cache off and on.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import type { SessionStore } from '../../src/session/session-store.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import { ConnectSessionSource } from '../../src/session/sources/connect.js'
import { startRedis } from '../harness/redis.js'
import { runSessionSourceContract, type SourceUnderTest } from './session-source.js'

const SECRET = 'contract-secret-contract-secret-0123456789'

function connectUnderTest(store: SessionStore, breakStore?: SourceUnderTest['breakStore']): SourceUnderTest {
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
  return {
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
    ...(breakStore ? { breakStore } : {}),
  }
}

t.test('connect source over the memory store', async (t) => {
  const store = new MemorySessionStore()
  t.teardown(() => store.close())
  runSessionSourceContract(t, async () => connectUnderTest(store))
})

for (const clientCache of [false, true]) {
  t.test(`connect source over Redis, client cache ${clientCache ? 'on' : 'off'}`, async (t) => {
    const redis = await startRedis()
    const store = new RedisSessionStore({
      ...singleRedis(redis.url),
      keyPrefix: 'sess:',
      connectTimeoutMs: 500,
      commandTimeoutMs: 300,
      clientCache,
      onError: () => {},
    })
    await store.connect()
    t.teardown(async () => {
      redis.resume()
      await store.close()
      await redis.stop()
    })
    runSessionSourceContract(t, async () =>
      connectUnderTest(store, async () => {
        // SIGSTOP: Redis keeps its connections and stops answering, the hardest outage to see.
        redis.pause()
        return async () => redis.resume()
      }),
    )
  })
}
