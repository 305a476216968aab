// Sessions held in process memory between requests, exact at every request: an entry lives only
// while Redis tracks it for us (RESP3 client tracking on the store's one connection), and a cached
// answer is given only after a PING sent *after its request arrived* has come back.
//
// Why that PING makes it exact. Say another client's DEL (or SET) of a session has completed, and
// then a request with that session reaches us. Redis executed the DEL before our PING (the PING
// left after the request arrived, which was after the DEL's reply). While executing the DEL, Redis
// queued the invalidation push on our connection; the PONG is queued after it on the same
// connection; node-redis decodes in order and emits 'invalidate' synchronously. So by the time the
// PONG resolves, the entry is gone and the request goes to Redis (and gets the new value or none).
// Without the PING, the request's socket and Redis' socket may be read in either order within one
// event-loop turn, and Redis writes the DEL's reply and our push in no guaranteed order.
// Requests that arrive while a PING is in flight wait for the next one, so one PING serves many
// requests: the cost under load is one small command per batch instead of a GET per request.
//
// Failing closed: a PING that times out rejects every waiting request (503) and empties the cache,
// so a hung Redis means no downloads, cached or not. Any connection event (error, end, reconnect,
// ready) empties it too, and filling restarts only once Redis confirms tracking on the new
// connection (a fresh connection tracks nothing we read on the old one).
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
  #tracking = false
  #epoch = 0
  #token = 0
  #current: Promise<void> | undefined
  #next: Promise<void> | undefined

  constructor(maxEntries: number, ping: () => Promise<unknown>) {
    this.#maxEntries = maxEntries
    this.#ping = ping
  }

  /** True while Redis has confirmed tracking on the current connection. */
  get usable(): boolean {
    return this.#tracking
  }

  get epoch(): number {
    return this.#epoch
  }

  get size(): number {
    return this.#entries.size
  }

  /**
   * The cached session, after the barrier PING; undefined when not cached (ask Redis). Rejects
   * when the PING fails or times out.
   */
  async lookup(sessionId: string): Promise<SessionData | undefined> {
    if (!this.#entries.has(sessionId)) return undefined
    await this.#barrier()
    // Looked up again: the invalidation may have arrived just before the PONG.
    const entry = this.#entries.get(sessionId)
    if (entry === undefined) return undefined
    if (Date.now() >= entry.deadline) {
      this.#entries.delete(sessionId)
      return undefined
    }
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
    this.#entries.delete(sessionId)
    this.#pending.delete(sessionId)
  }

  /** Redis flushed a database (or dropped its tracking table): forget everything. */
  invalidateAll(): void {
    this.#entries.clear()
    this.#pending.clear()
    this.#epoch++
  }

  /** Any doubt about the connection: forget everything and stop filling until confirmed again. */
  connectionLost(): void {
    this.#tracking = false
    this.invalidateAll()
  }

  trackingConfirmed(epoch: number): void {
    if (epoch === this.#epoch) this.#tracking = true
  }

  #barrier(): Promise<void> {
    if (this.#current === undefined) return this.#send()
    // The PING in flight may have left before this request arrived: wait for the next one.
    if (this.#next === undefined) {
      const startNext = () => {
        this.#next = undefined
        return this.#send()
      }
      this.#next = this.#current.then(startNext, startNext)
    }
    return this.#next
  }

  #send(): Promise<void> {
    const sent = this.#ping().then(
      () => undefined,
      (err: unknown) => {
        this.connectionLost()
        throw err
      },
    )
    this.#current = sent
    const done = () => {
      if (this.#current === sent) this.#current = undefined
    }
    sent.then(done, done)
    return sent
  }
}
