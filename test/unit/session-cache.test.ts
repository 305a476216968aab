import t from 'tap'
import { SessionCache } from '../../src/session/session-cache.js'

function cacheWithPings() {
  const pings: { resolve: () => void; reject: (e: Error) => void }[] = []
  const cache = new SessionCache(
    3,
    () => new Promise<void>((resolve, reject) => pings.push({ resolve, reject })),
  )
  return { cache, pings }
}

const A = { user: { id: 'a' } }
const B = { user: { id: 'b' } }
const tick = () => new Promise((r) => setImmediate(r))

t.test('session cache: nothing is kept before Redis confirms tracking', async (t) => {
  const { cache } = cacheWithPings()
  t.equal(cache.beginFill('s1'), undefined)
  t.equal(await cache.lookup('s1'), undefined)
})

t.test('session cache: a filled entry is answered only after a PING sent after the lookup', async (t) => {
  const { cache, pings } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (!fill) throw new Error('expected a fill')
  cache.endFill(fill, A, -1)
  let answered: unknown = 'pending'
  const lookup = cache.lookup('s1').then((d) => {
    answered = d
  })
  await tick()
  t.equal(answered, 'pending', 'waits for the PONG')
  t.equal(pings.length, 1)
  pings[0]?.resolve()
  await lookup
  t.same(answered, A)
})

t.test('session cache: an invalidation that arrives before the PONG wins', async (t) => {
  const { cache, pings } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (!fill) throw new Error('expected a fill')
  cache.endFill(fill, A, -1)
  const lookup = cache.lookup('s1')
  await tick()
  cache.invalidate('s1')
  pings[0]?.resolve()
  t.equal(await lookup, undefined, 'goes to Redis instead')
})

t.test('session cache: a GET answer is not kept when the session was invalidated in flight', async (t) => {
  const { cache } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (!fill) throw new Error('expected a fill')
  cache.invalidate('s1')
  t.same(cache.endFill(fill, A, -1), A, 'the caller still gets its answer')
  t.equal(cache.size, 0, 'but it is not cached')
})

t.test('session cache: a GET answer is not kept across a connection change', async (t) => {
  const { cache } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (!fill) throw new Error('expected a fill')
  cache.connectionLost()
  cache.trackingConfirmed(cache.epoch)
  cache.endFill(fill, A, -1)
  t.equal(cache.size, 0)
})

t.test('session cache: a lost connection empties the cache and stops filling until confirmed', async (t) => {
  const { cache } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (!fill) throw new Error('expected a fill')
  cache.endFill(fill, A, -1)
  t.equal(cache.size, 1)
  cache.connectionLost()
  t.equal(cache.size, 0)
  t.equal(cache.beginFill('s2'), undefined)
  cache.trackingConfirmed(cache.epoch - 1)
  t.equal(cache.beginFill('s2'), undefined, 'a confirmation for an older connection does not count')
})

t.test('session cache: a PING that fails rejects the lookup and empties the cache', async (t) => {
  const { cache, pings } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  for (const id of ['s1', 's2']) {
    const fill = cache.beginFill(id)
    if (fill) cache.endFill(fill, A, -1)
  }
  const lookup = cache.lookup('s1')
  await tick()
  pings[0]?.reject(new Error('timeout'))
  const [outcome] = await Promise.allSettled([lookup])
  t.equal(outcome?.status, 'rejected')
  t.equal(cache.size, 0, 's2 is gone too')
  t.equal(cache.usable, false)
})

t.test('session cache: a lookup that arrives while a PING is in flight waits for the next one', async (t) => {
  const { cache, pings } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const fill = cache.beginFill('s1')
  if (fill) cache.endFill(fill, A, -1)
  const first = cache.lookup('s1')
  await tick()
  const second = cache.lookup('s1')
  await tick()
  pings[0]?.resolve()
  t.same(await first, A)
  await tick()
  t.equal(pings.length, 2, 'the second lookup needed a PING of its own')
  pings[1]?.resolve()
  t.same(await second, A)
})

t.test('session cache: entries expire with the key TTL and the oldest goes when full', async (t) => {
  const { cache, pings } = cacheWithPings()
  cache.trackingConfirmed(cache.epoch)
  const short = cache.beginFill('short')
  if (short) cache.endFill(short, A, 0)
  const lookup = cache.lookup('short')
  await tick()
  pings[0]?.resolve()
  t.equal(await lookup, undefined, 'a TTL already reached')
  for (const id of ['s1', 's2', 's3', 's4']) {
    const fill = cache.beginFill(id)
    if (fill) cache.endFill(fill, B, -1)
  }
  t.equal(cache.size, 3, 'bounded')
  cache.invalidateAll()
  t.equal(cache.size, 0)
})
