// Fast must never mean stale: whatever the gateway keeps between requests, a session deleted or
// changed in Redis by anyone takes effect on the very next request, through real nginx and real
// Redis, with the client cache on and off, alone and under a stream of concurrent requests.
import { createClient } from 'redis'
import t, { type Test } from 'tap'
import type { RedisSessionStore } from '../../src/session/redis-store.js'
import { type Scenario, startScenario, withClientCache, X_ACCEL_REDIS_CONFIG } from '../harness/scenario.js'

const FILE = '/download/reports/q1.pdf' // group finance: alice has it
const IN_FLIGHT = 16

/** The session id inside a `sid=<id>.<signature>` cookie pair. */
function sessionIdOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
  return value.slice(0, value.lastIndexOf('.'))
}

for (const cache of [true, false]) {
  t.test(`session freshness, client cache ${cache ? 'on' : 'off'}`, async (t) => {
    const scenario: Scenario = await startScenario(withClientCache(X_ACCEL_REDIS_CONFIG, cache))
    t.teardown(() => scenario.stop())
    // Another client of the same Redis, as the main web app would be: not the gateway's store.
    const other = createClient({ url: scenario.redis.url })
    await other.connect()
    t.teardown(() => other.close())
    const store = scenario.gateway.store as RedisSessionStore

    const get = async (cookie: string) => {
      const res = await fetch(`${scenario.nginx.baseUrl}${FILE}`, { headers: { cookie } })
      await res.arrayBuffer()
      return res.status
    }
    const dropGroups = async (cookie: string) => {
      const key = `sess:${sessionIdOf(cookie)}`
      const session = JSON.parse((await other.get(key)) as string) as { user: { groups: string[] } }
      session.user.groups = []
      await other.set(key, JSON.stringify(session), { KEEPTTL: true })
    }

    /**
     * Requests with `cookie`, IN_FLIGHT at a time, while `change` runs after a short while; every
     * request started after `change` resolved must get `expected`. Bounded to a few seconds.
     */
    const underLoad = async (t: Test, cookie: string, change: () => Promise<unknown>, expected: number) => {
      let changedAt = Number.POSITIVE_INFINITY
      const seen: { startedAt: number; status: number }[] = []
      const stopAt = performance.now() + 2500
      const worker = async () => {
        while (performance.now() < stopAt) {
          const startedAt = performance.now()
          seen.push({ startedAt, status: await get(cookie) })
        }
      }
      const workers = Array.from({ length: IN_FLIGHT }, worker)
      await new Promise((r) => setTimeout(r, 700))
      await change()
      changedAt = performance.now()
      await Promise.all(workers)
      const before = seen.filter((s) => s.startedAt < changedAt)
      const after = seen.filter((s) => s.startedAt > changedAt)
      t.ok(
        before.some((s) => s.status === 200),
        `requests before the change were served (${before.length})`,
      )
      t.ok(after.length >= IN_FLIGHT, `requests started after the change: ${after.length}`)
      const wrong = after.filter((s) => s.status !== expected)
      t.same(
        wrong.map((s) => s.status),
        [],
        `every request started after the change answered ${expected}`,
      )
    }

    t.test('a session deleted in Redis by another client: the next request is 401', async (t) => {
      const alice = await scenario.login('alice')
      t.equal(await get(alice), 200)
      t.equal(await get(alice), 200)
      if (cache) t.ok(store.cachedSessions > 0, 'the session is held in the cache')
      await other.del(`sess:${sessionIdOf(alice)}`)
      t.equal(await get(alice), 401)
    })

    t.test('a session changed in Redis (groups removed): the next request reflects it', async (t) => {
      const alice = await scenario.login('alice')
      t.equal(await get(alice), 200)
      t.equal(await get(alice), 200)
      await dropGroups(alice)
      t.equal(await get(alice), 403)
    })

    t.test('our own logout: the next request with the old cookie is 401', async (t) => {
      const alice = await scenario.login('alice')
      t.equal(await get(alice), 200)
      const out = await fetch(`${scenario.nginx.baseUrl}/logout`, {
        method: 'POST',
        headers: { cookie: alice },
      })
      await out.arrayBuffer()
      t.equal(out.status, 204)
      t.equal(await get(alice), 401)
    })

    t.test('under load: every request started after a DEL completed is 401', async (t) => {
      const alice = await scenario.login('alice')
      await underLoad(t, alice, () => other.del(`sess:${sessionIdOf(alice)}`), 401)
    })

    t.test('under load: every request started after a SET completed reflects it (403)', async (t) => {
      const alice = await scenario.login('alice')
      await underLoad(t, alice, () => dropGroups(alice), 403)
    })
  })
}
