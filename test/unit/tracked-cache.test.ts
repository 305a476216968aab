import t from 'tap'
import { TrackedCache } from '../../src/redis/tracked-cache.js'

// A cache whose heartbeat is driven by the test: pings are answered by hand, the interval is long.
function cacheWithPings(maxSilenceMs = 250) {
  const pings: { resolve: () => void; reject: (e: Error) => void }[] = []
  const cache = new TrackedCache<Record<string, unknown>>(
    3,
    () => new Promise<void>((resolve, reject) => pings.push({ resolve, reject })),
    maxSilenceMs,
    3_600_000,
  )
  t.teardown(() => cache.close())
  return { cache, pings }
}

/** Tracking confirmed and the first heartbeat answered. */
async function ready(c: ReturnType<typeof cacheWithPings>) {
  c.cache.trackingConfirmed(c.cache.epoch)
  c.pings.at(-1)?.resolve()
  await tick()
}

function fill(
  cache: TrackedCache<Record<string, unknown>>,
  id: string,
  data: Record<string, unknown>,
  ttlMs = -1,
) {
  const f = cache.beginFill(id)
  if (!f) throw new Error('expected a fill')
  cache.endFill(f, data, ttlMs)
}

const A = { user: { id: 'a' } }
const B = { user: { id: 'b' } }
const tick = () => new Promise((r) => setImmediate(r))

t.test('session cache: nothing is kept or answered before Redis confirms tracking', async (t) => {
  const { cache } = cacheWithPings()
  t.equal(cache.beginFill('s1'), undefined)
  t.equal(await cache.lookup('s1'), undefined)
  t.equal(cache.usable, false)
})

t.test('session cache: confirming tracking sends a heartbeat; usable once it is answered', async (t) => {
  const c = cacheWithPings()
  c.cache.trackingConfirmed(c.cache.epoch)
  t.equal(c.pings.length, 1)
  t.equal(c.cache.usable, false, 'no PONG yet')
  c.pings[0]?.resolve()
  await tick()
  t.equal(c.cache.usable, true)
})

t.test('session cache: a filled entry is answered one event-loop turn later', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  t.same(await c.cache.lookup('s1'), A)
})

t.test('session cache: an invalidation that arrives before the turn ends wins', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  const lookup = c.cache.lookup('s1')
  // node-redis emits 'invalidate' from its socket's data callback, later in the same poll phase.
  queueMicrotask(() => c.cache.invalidate('s1'))
  t.equal(await lookup, undefined, 'goes to Redis instead')
})

t.test('session cache: lookups in one pass share a turn; a lookup after it waits for another', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  fill(c.cache, 's2', A)
  const [one, two] = [c.cache.lookup('s1'), c.cache.lookup('s2')]
  queueMicrotask(() => c.cache.invalidate('s2'))
  t.same(await one, A)
  t.equal(await two, undefined, 'the invalidation read in that pass wins for every lookup waiting')
  // Here the shared turn has just resolved: a new lookup must not reuse it and answer at once.
  let answered = false
  const late = c.cache.lookup('s1').then((hit) => {
    answered = true
    return hit
  })
  for (let i = 0; i < 20; i++) await Promise.resolve()
  t.equal(answered, false, 'not answered before another event-loop turn')
  c.cache.invalidate('s1')
  t.equal(await late, undefined)
})

t.test(
  'session cache: lookupLater says at once when the session is not cached, and never answers',
  async (t) => {
    const c = cacheWithPings()
    await ready(c)
    let answers = 0
    t.equal(
      c.cache.lookupLater('s1', () => answers++),
      false,
    )
    await tick()
    await tick()
    t.equal(answers, 0)
  },
)

t.test('session cache: lookupLater answers once, after the turn, not from inside the call', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  const seen: unknown[] = []
  t.equal(
    c.cache.lookupLater('s1', (data) => seen.push(data)),
    true,
  )
  for (let i = 0; i < 20; i++) await Promise.resolve()
  t.same(seen, [], 'nothing before the event-loop turn')
  await tick()
  t.same(seen, [A])
})

t.test(
  'session cache: an answer that throws does not cost the other lookups of its turn theirs',
  async (t) => {
    const c = cacheWithPings()
    await ready(c)
    fill(c.cache, 's1', A)
    fill(c.cache, 's2', B)
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    const seen: unknown[] = []
    c.cache.lookupLater('s1', () => {
      throw new Error('a bug in an answer')
    })
    c.cache.lookupLater('s2', (data) => seen.push(data))
    await tick()
    t.same(seen, [B], 'the second lookup was answered')
    t.equal((await warned).message, 'a bug in an answer', 'and the bug was reported, not swallowed')
  },
)

t.test('session cache: a GET answer is not kept when the session was invalidated in flight', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  const f = c.cache.beginFill('s1')
  if (!f) throw new Error('expected a fill')
  c.cache.invalidate('s1')
  t.same(c.cache.endFill(f, A, -1), A, 'the caller still gets its answer')
  t.equal(c.cache.size, 0, 'but it is not cached')
})

t.test('session cache: a GET answer is not kept across a connection change', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  const f = c.cache.beginFill('s1')
  if (!f) throw new Error('expected a fill')
  c.cache.connectionLost()
  await ready(c)
  c.cache.endFill(f, A, -1)
  t.equal(c.cache.size, 0)
})

t.test('session cache: a lost connection empties the cache and stops filling until confirmed', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  t.equal(c.cache.size, 1)
  c.cache.connectionLost()
  t.equal(c.cache.size, 0)
  t.equal(c.cache.usable, false)
  t.equal(c.cache.beginFill('s2'), undefined)
  c.cache.trackingConfirmed(c.cache.epoch - 1)
  t.equal(c.cache.beginFill('s2'), undefined, 'a confirmation for an older connection does not count')
})

t.test('session cache: a failed heartbeat empties the cache and makes it unusable', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 's1', A)
  c.cache.heartbeat()
  c.pings.at(-1)?.reject(new Error('timeout'))
  await tick()
  t.equal(c.cache.size, 0)
  t.equal(c.cache.usable, false)
  t.equal(await c.cache.lookup('s1'), undefined)
})

t.test('session cache: while off, each heartbeat asks for tracking to be confirmed again', async (t) => {
  let asked = 0
  const pings: { resolve: () => void }[] = []
  const cache = new TrackedCache<Record<string, unknown>>(
    3,
    () => new Promise<void>((resolve) => pings.push({ resolve })),
    250,
    3_600_000,
    () => asked++,
  )
  t.teardown(() => cache.close())
  cache.heartbeat()
  t.equal(asked, 1, 'not tracking yet: ask')
  cache.trackingConfirmed(cache.epoch)
  pings.at(-1)?.resolve()
  await tick()
  cache.heartbeat()
  t.equal(asked, 1, 'tracking: a PING instead')
  const before = cache.epoch
  cache.connectionLost()
  cache.trackingConfirmed(before)
  t.equal(cache.usable, false, 'a confirmation asked for before the loss counts for nothing')
  cache.heartbeat()
  t.equal(asked, 2, 'off again: ask again')
  cache.trackingConfirmed(cache.epoch)
  pings.at(-1)?.resolve()
  await tick()
  t.equal(cache.usable, true, 'and back on once confirmed and answered')
})

t.test('session cache: without a recent PONG nothing is answered from memory (a hung Redis)', async (t) => {
  const c = cacheWithPings(30)
  await ready(c)
  fill(c.cache, 's1', A)
  c.cache.heartbeat() // never answered: Redis hangs
  await new Promise((r) => setTimeout(r, 60))
  t.equal(c.cache.usable, false)
  t.equal(await c.cache.lookup('s1'), undefined, 'the request goes to Redis, which will time out: 503')
})

t.test('session cache: only one heartbeat PING is in flight at a time', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  c.cache.heartbeat()
  c.cache.heartbeat()
  c.cache.heartbeat()
  t.equal(c.pings.length, 2, 'the confirming one and one more')
})

t.test('session cache: entries expire with the key TTL and the oldest goes when full', async (t) => {
  const c = cacheWithPings()
  await ready(c)
  fill(c.cache, 'short', A, 0)
  t.equal(await c.cache.lookup('short'), undefined, 'a TTL already reached')
  for (const id of ['s1', 's2', 's3', 's4']) fill(c.cache, id, B)
  t.equal(c.cache.size, 3, 'bounded')
  t.equal(await c.cache.lookup('s1'), undefined, 'the oldest went')
  c.cache.invalidateAll()
  t.equal(c.cache.size, 0)
})

t.test('session cache: hits and invalidations are counted for the metrics', async (t) => {
  const c = cacheWithPings(60_000)
  await ready(c)
  fill(c.cache, 's1', A)
  fill(c.cache, 's2', B)
  t.same(c.cache.counts, { hits: 0, invalidations: 0 })
  await c.cache.lookup('s1')
  await c.cache.lookup('s1')
  await c.cache.lookup('nope')
  t.equal(c.cache.counts.hits, 2, 'answered from memory twice; a miss is no hit')
  c.cache.invalidate('s1')
  c.cache.invalidate('s1')
  t.equal(c.cache.counts.invalidations, 1, 'an entry dropped counts, a second drop of nothing does not')
  c.cache.invalidateAll()
  t.equal(c.cache.counts.invalidations, 2, 'everything dropped: s2')
})
