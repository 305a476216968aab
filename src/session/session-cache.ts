// Sessions held in process memory between requests, exact at every request: an entry lives only
// while Redis tracks it for us (RESP3 client tracking on the store's one connection), and it is
// answered only while that connection is proven alive.
//
// Why a change in Redis is seen by the very next request. Say another client's DEL (or SET) of a
// session completes, and then a request with that session reaches us. While executing the DEL,
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
// invalidation of that session and no connection event happened while it was in flight. Entries
// also expire with the key's own TTL (PTTL, measured from before the GET was sent).
import type { SessionData } from './session-store.js'

interface Entry {
  readonly data: SessionData
  /** Date.now() after which the key may have expired in Redis; Infinity when it has no TTL. */
  readonly deadline: number
}

export interface Fill {
  readonly sessionId: string
  readonly token: number
  readonly epoch: number
  readonly sentAt: number
}

export class SessionCache {
  readonly #entries = new Map<string, Entry>()
  /** Session id -> token of the GET allowed to fill it; removed by an invalidation. */
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
   * The cached session, one event-loop turn later (see the header); undefined when it is not
   * cached or the cache is not usable now (ask Redis).
   */
  lookup(sessionId: string): Promise<SessionData | undefined> {
    return new Promise((resolve) => {
      if (!this.lookupLater(sessionId, resolve)) resolve(undefined)
    })
  }

  /**
   * lookup() without promises, for the download path, where a promise reaction per level of
   * async functions was a measurable share of a cached answer: false when the session is not
   * cached (ask Redis now); otherwise true, and `answer` is called once, one event-loop turn later
   * (see the header), with the session, or undefined if it may no longer be answered from memory.
   * `answer` must not throw: it runs in a batch with other requests' answers, and in that batch's
   * async context, not the caller's (AsyncResource.bind it where AsyncLocalStorage matters).
   */
  lookupLater(sessionId: string, answer: (data: SessionData | undefined) => void): boolean {
    if (!this.#entries.has(sessionId)) return false
    afterThisTurn(() => answer(this.#cached(sessionId)))
    return true
  }

  /** The entry's session if it may be answered now: not invalidated, not expired, cache usable. */
  #cached(sessionId: string): SessionData | undefined {
    // Looked up again: an invalidation read during the turn has removed it.
    const entry = this.#entries.get(sessionId)
    if (entry === undefined || !this.usable) return undefined
    if (Date.now() >= entry.deadline) {
      this.#entries.delete(sessionId)
      return undefined
    }
    this.counts.hits++
    return entry.data
  }

  /** Call right before sending the GET; undefined when the answer must not be cached. */
  beginFill(sessionId: string): Fill | undefined {
    if (!this.#tracking) return undefined
    const token = ++this.#token
    this.#pending.set(sessionId, token)
    return { sessionId, token, epoch: this.#epoch, sentAt: Date.now() }
  }

  /** Keeps `data` unless the session was invalidated or the connection changed meanwhile. */
  endFill(fill: Fill, data: SessionData, ttlMs: number): SessionData {
    if (this.#pending.get(fill.sessionId) !== fill.token) return data
    this.#pending.delete(fill.sessionId)
    // PTTL: -1 no expiry, -2 no key (deleted between GET and PTTL: not worth keeping).
    if (!this.#tracking || fill.epoch !== this.#epoch || ttlMs === -2) return data
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(fill.sessionId, { data, deadline: ttlMs >= 0 ? fill.sentAt + ttlMs : Infinity })
    return data
  }

  invalidate(sessionId: string): void {
    if (this.#entries.delete(sessionId)) this.counts.invalidations++
    this.#pending.delete(sessionId)
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
