// The session cache after a Redis that answered too late, on a connection that stayed open: it
// stops answering from memory at once (fail closed), and takes up caching again once Redis answers
// and confirms tracking on that same connection. Without the second half a gateway whose Redis
// was slow for one moment ran at its cache-off cost until its next reconnect, maybe for days.
import t from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { startRedis } from '../harness/redis.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a command that timed out turns the cache off; it comes back on the same connection', async (t) => {
  const redis = await startRedis()
  const store = new RedisSessionStore({
    ...singleRedis(redis.url),
    keyPrefix: 'sess:',
    connectTimeoutMs: 500,
    commandTimeoutMs: 200,
    clientCache: true,
    onError: () => {},
  })
  await store.connect()
  t.teardown(async () => {
    redis.resume()
    await store.close()
    await redis.stop()
  })
  const hits = () => store.cacheCounts?.hits ?? 0
  /** Whether reading the session twice answers the second from memory (waiting for tracking first). */
  const cachedWithin = async (ms: number) => {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
      const before = hits()
      await store.get('s1')
      await store.get('s1')
      if (hits() > before) return true
    }
    return false
  }
  await store.set('s1', { user: { id: 'alice' } }, 3600)
  t.ok(await cachedWithin(3000), 'answered from memory to begin with')

  // SIGSTOP: the connection stays open; the heartbeat PING times out (200 ms).
  redis.pause()
  await sleep(600)
  t.equal(store.cachedSessions, 0, 'a timed-out PING emptied the cache')
  await t.rejects(store.get('s1'), 'a read meanwhile fails closed')
  redis.resume()
  t.same(await store.get('s1'), { user: { id: 'alice' } }, 'Redis answers again')
  t.ok(await cachedWithin(3000), 'and the cache takes up again without a reconnect')
})
