// Values read from Redis held in process memory between requests, exact at every request: an
// entry lives only while Redis tracks its key for us (RESP3 client tracking on the store's one
// connection), and it is answered only while that connection is proven alive. The session store
// keeps sessions in it, the credential store token records and link revocation markers.
//
// Why a change in Redis is seen by the very next request. Say another client's DEL (or SET) of a
// key completes, and then a request that reads that key reaches us. While executing the DEL,
// Redis queued the invalidation push for our connection, and it writes it in the same event-loop
// pass as the DEL's reply, microseconds apart. Any request the DEL's client causes afterwards must
// still travel through nginx to us, which takes far longer, so the push is already in our socket's
// receive queue when that request's bytes arrive. Both may be read in the same poll phase, in
// either order; so before answering from memory a lookup yields one event-loop turn
// (setImmediate runs after the whole poll phase), which lets node-redis read the push and emit
// 'invalidate' first. The entry is then gone and the request goes to Redis. The freshness test
// (test/integration/session-freshness.test.ts) checks this under load.
//
// Failing closed: a heartbeat PING runs every HEARTBEAT_MS; entries are answered only while the
// last PONG is at most maxSilenceMs old, so a hung or cut-off Redis stops the cache within that
// time and requests go to Redis, which then fails with 503. A failed PING, and any connection
// event (error, end, reconnect, ready), empties the cache; filling restarts only once Redis
// confirms tracking on the new connection (a fresh connection tracks nothing we read on the old).
// A command that only timed out leaves the connection open: there, while the cache is off, each
// heartbeat asks `reconfirm` to have Redis confirm tracking again, so one slow moment does not
// turn the cache off until the next reconnect.
//
// Filling is guarded against the race with an invalidation: a GET's answer is kept only if no
// invalidation of that key and no connection event happened while it was in flight. Entries
// also expire with the key's own TTL (PTTL, measured from before the GET was sent).
import type { RedisConnection } from './connection.js'

interface Entry<V> {
  readonly data: V
  /** Date.now() after which the key may have expired in Redis; Infinity when it has no TTL. */
  readonly deadline: number
}

export interface Fill {
  readonly key: string
  readonly token: number
  readonly epoch: number
  readonly sentAt: number
}

export class TrackedCache<V> {
  readonly #entries = new Map<string, Entry<V>>()
  /** Key -> token of the GET allowed to fill it; removed by an invalidation. */
  readonly #pending = new Map<string, number>()
  readonly #maxEntries: number
  readonly #ping: () => Promise<unknown>
  readonly #reconfirm: (() => void) | undefined
  readonly #maxSilenceMs: number
  readonly #heartbeat: NodeJS.Timeout
  #tracking = false
  #epoch = 0
  #token = 0
  #pinging = false
  /** performance.now() of the last PONG; -Infinity before the first. */
  #lastPong = Number.NEGATIVE_INFINITY
  /** Running totals for the metrics: plain integers, read when Prometheus scrapes. */
  readonly counts = { hits: 0, invalidations: 0 }

  /**
   * `ping` must reject when Redis does not answer in time. `maxSilenceMs` is how old the last
   * PONG may be for cached answers to be given. `reconfirm` is called on every heartbeat while
   * tracking is not confirmed: it should ask Redis, if the connection is up, and call
   * trackingConfirmed(epoch) with the epoch from before it asked.
   */
  constructor(
    maxEntries: number,
    ping: () => Promise<unknown>,
    maxSilenceMs = 250,
    heartbeatMs = HEARTBEAT_MS,
    reconfirm?: () => void,
  ) {
    this.#maxEntries = maxEntries
    this.#ping = ping
    this.#reconfirm = reconfirm
    this.#maxSilenceMs = maxSilenceMs
    this.#heartbeat = setInterval(() => this.heartbeat(), heartbeatMs)
    this.#heartbeat.unref()
  }

  /** True while Redis has confirmed tracking on this connection and answered a PING lately. */
  get usable(): boolean {
    return this.#tracking && performance.now() - this.#lastPong <= this.#maxSilenceMs
  }

  get epoch(): number {
    return this.#epoch
  }

  get size(): number {
    return this.#entries.size
  }

  /**
   * The cached value, one event-loop turn later (see the header); undefined when it is not
   * cached or the cache is not usable now (ask Redis).
   */
  lookup(key: string): Promise<V | undefined> {
    return new Promise((resolve) => {
      if (!this.lookupLater(key, resolve)) resolve(undefined)
    })
  }

  /**
   * lookup() without promises, for the download path, where a promise reaction per level of
   * async functions was a measurable share of a cached answer: false when the key is not
   * cached (ask Redis now); otherwise true, and `answer` is called once, one event-loop turn later
   * (see the header), with the value, or undefined if it may no longer be answered from memory.
   * `answer` must not throw: it runs in a batch with other requests' answers, and in that batch's
   * async context, not the caller's (AsyncResource.bind it where AsyncLocalStorage matters).
   */
  lookupLater(key: string, answer: (data: V | undefined) => void): boolean {
    if (!this.#entries.has(key)) return false
    afterThisTurn(() => answer(this.#cached(key)))
    return true
  }

  /** The entry's value if it may be answered now: not invalidated, not expired, cache usable. */
  #cached(key: string): V | undefined {
    // Looked up again: an invalidation read during the turn has removed it.
    const entry = this.#entries.get(key)
    if (entry === undefined || !this.usable) return undefined
    if (Date.now() >= entry.deadline) {
      this.#entries.delete(key)
      return undefined
    }
    this.counts.hits++
    return entry.data
  }

  /** Call right before sending the GET; undefined when the answer must not be cached. */
  beginFill(key: string): Fill | undefined {
    if (!this.#tracking) return undefined
    const token = ++this.#token
    this.#pending.set(key, token)
    return { key, token, epoch: this.#epoch, sentAt: Date.now() }
  }

  /** Keeps `data` unless the key was invalidated or the connection changed meanwhile. */
  endFill(fill: Fill, data: V, ttlMs: number): V {
    if (this.#pending.get(fill.key) !== fill.token) return data
    this.#pending.delete(fill.key)
    // PTTL: -1 no expiry, -2 no key (deleted between GET and PTTL: not worth keeping).
    if (!this.#tracking || fill.epoch !== this.#epoch || ttlMs === -2) return data
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(fill.key, { data, deadline: ttlMs >= 0 ? fill.sentAt + ttlMs : Infinity })
    return data
  }

  invalidate(key: string): void {
    if (this.#entries.delete(key)) this.counts.invalidations++
    this.#pending.delete(key)
  }

  /** Redis flushed a database (or dropped its tracking table): forget everything. */
  invalidateAll(): void {
    this.counts.invalidations += this.#entries.size
    this.#entries.clear()
    this.#pending.clear()
    this.#epoch++
  }

  /** Any doubt about the connection: forget everything and stop filling until confirmed again. */
  connectionLost(): void {
    this.#tracking = false
    this.#lastPong = Number.NEGATIVE_INFINITY
    this.invalidateAll()
  }

  trackingConfirmed(epoch: number): void {
    if (epoch !== this.#epoch) return
    this.#tracking = true
    this.heartbeat()
  }

  /** One PING at a time; exported for tests, run by the interval otherwise. */
  heartbeat(): void {
    if (!this.#tracking) return void this.#reconfirm?.()
    if (this.#pinging) return
    this.#pinging = true
    this.#ping().then(
      () => {
        this.#pinging = false
        this.#lastPong = performance.now()
      },
      () => {
        this.#pinging = false
        this.connectionLost()
      },
    )
  }

  close(): void {
    clearInterval(this.#heartbeat)
    this.connectionLost()
  }
}

/**
 * Wires `cache` to the one connection it is exact over: an invalidation of a key starting with
 * `prefix` drops the entry named by the rest of the key; every connection event forgets
 * everything, and filling starts again only once Redis itself confirms tracking on this very
 * connection. `withTimeout` must reject when Redis does not answer in time. Returns the ask for
 * that confirmation, to pass as the cache's `reconfirm`.
 */
export function trackOn<V>(
  single: NonNullable<RedisConnection['single']>,
  cache: TrackedCache<V>,
  prefix: string,
  withTimeout: (command: Promise<unknown>) => Promise<unknown>,
): () => void {
  let confirming = false
  // Caching starts only once Redis itself confirms tracking on this very connection: after
  // 'ready', and after a command that timed out on a connection that stayed open.
  const confirmTracking = () => {
    if (confirming || !single.isReady) return
    confirming = true
    const epoch = cache.epoch
    withTimeout(single.sendCommand(['CLIENT', 'TRACKINGINFO'])).then(
      (info) => {
        confirming = false
        if (trackingIsOn(info)) cache.trackingConfirmed(epoch)
      },
      () => {
        confirming = false
        cache.connectionLost()
      },
    )
  }
  single.on('invalidate', (key: unknown) => {
    if (key === null) return cache.invalidateAll()
    const name = String(key)
    if (name.startsWith(prefix)) cache.invalidate(name.slice(prefix.length))
  })
  single.on('end', () => cache.connectionLost())
  single.on('reconnecting', () => cache.connectionLost())
  single.on('ready', () => {
    cache.connectionLost()
    confirmTracking()
  })
  return confirmTracking
}

/**
 * A TrackedCache over `single`'s tracking, as both stores keep one: entries answered only while
 * the last PONG is at most the command timeout old (capped at 250 ms, at least two heartbeats),
 * Redis's invalidations of keys under `prefix` applied, and tracking confirmed again whenever the
 * cache is off on a live connection.
 */
export function trackedCacheOn<V>(
  single: NonNullable<RedisConnection['single']>,
  o: { readonly maxEntries: number; readonly prefix: string; readonly commandTimeoutMs: number },
  withTimeout: (command: Promise<unknown>) => Promise<unknown>,
): TrackedCache<V> {
  // trackOn() gives the heartbeat its way to have Redis confirm tracking again.
  let reconfirm = () => {}
  const cache = new TrackedCache<V>(
    o.maxEntries,
    () => withTimeout(single.ping()),
    Math.max(2 * HEARTBEAT_MS, Math.min(o.commandTimeoutMs, 250)),
    HEARTBEAT_MS,
    () => reconfirm(),
  )
  reconfirm = trackOn(single, cache, o.prefix, withTimeout)
  return cache
}

/** CLIENT TRACKINGINFO answers a map whose `flags` include `on` (RESP3: a Map or an object). */
function trackingIsOn(info: unknown): boolean {
  const flags = info instanceof Map ? info.get('flags') : (info as { flags?: unknown } | null)?.flags
  return Array.isArray(flags) && flags.some((f) => String(f) === 'on')
}

/**
 * Whether a tracked cache can be exact on this topology. Its exactness rests on one connection
 * whose server tracks every key we read. On Sentinel the promoted replica never saw our reads, so
 * it sends no invalidation for values cached from the old primary; on a cluster each primary
 * tracks only its own slots and a slot that moves (or fails over) goes silent the same way. Turned
 * off there rather than made nearly right.
 */
export function trackedCacheExact(mode: RedisConnection['mode']): boolean {
  return mode === 'single'
}

/** How often the heartbeat PING goes out while the cache is in use. */
export const HEARTBEAT_MS = 100

// One turn shared by every lookup made in the same event-loop pass: under load a poll phase reads
// dozens of requests, and one Immediate answers them all. The batch is swapped out before it runs,
// so a lookup made while it runs waits for another pass, as it must.
let waiting: (() => void)[] = []

function afterThisTurn(run: () => void): void {
  if (waiting.length === 0) setImmediate(runWaiting)
  waiting.push(run)
}

function runWaiting(): void {
  const batch = waiting
  waiting = []
  for (const run of batch) {
    try {
      run()
    } catch (err) {
      // Answers must not throw (the download route's answers catch everything and reply 500).
      // Should one throw all the same, the rest of the batch is still answered and the bug is
      // reported on stderr: an exception from here would end the process.
      process.emitWarning(err as Error)
    }
  }
}
