// Sessions in Redis, in the layout connect-redis uses (key = prefix + session id, value = the
// session as JSON, expiring with the session), so the main web app and the gateway share them.
import { createClient } from 'redis'
import type { GatewayConfig } from '../config/gateway-config.js'
import { deepFreeze } from '../deep-freeze.js'
import { withCommandTimeout } from './redis-timeout.js'
import { HEARTBEAT_MS, SessionCache } from './session-cache.js'
import { type SessionData, type SessionStore, StoreUnavailableError } from './session-store.js'

/**
 * The `session.redis` part of the gateway config. With `clientCache`, sessions read are kept in
 * process memory, invalidated by Redis itself (RESP3 client tracking): a session changed or deleted
 * by anyone is dropped as Redis sends the invalidation, and cached answers are given only while a
 * heartbeat PING proves the connection alive (see SessionCache).
 */
export type RedisStoreOptions = GatewayConfig['session']['redis'] & {
  readonly onError?: (err: Error) => void
}

/** Most sessions kept in memory; the oldest entry goes first when it is full. */
export const CLIENT_CACHE_MAX_ENTRIES = 10_000

export class RedisSessionStore implements SessionStore {
  readonly #client
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #cache: SessionCache | undefined

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix
    this.#timeoutMs = options.commandTimeoutMs
    this.#client = createClient({
      url: options.url,
      ...(options.password ? { password: options.password } : {}),
      RESP: 3,
      // CLIENT TRACKING ON in the handshake of every (re)connection, and one 'invalidate' event per
      // key Redis tells us about. The values are cached by SessionCache, not by node-redis: its
      // own cache hands out a structuredClone per hit and knows nothing of our barrier.
      ...(options.clientCache ? { emitInvalidate: true } : {}),
      // node-redis' own command timeout arms an AbortSignal.timeout per command (measurable in
      // profiles) and was seen not to fire against a stopped Redis: #withTimeout replaces it.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: options.connectTimeoutMs,
        // Keep trying in the background; meanwhile every request fails fast with 503.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
      },
      // Without this, commands wait in a queue while Redis is down instead of failing closed at once.
      disableOfflineQueue: true,
    })
    this.#client.on('error', (err: Error) => {
      this.#cache?.connectionLost()
      options.onError?.(err)
    })
    if (options.clientCache) {
      const cache = new SessionCache(
        CLIENT_CACHE_MAX_ENTRIES,
        () => this.#withTimeout(this.#client.ping()),
        Math.max(2 * HEARTBEAT_MS, Math.min(options.commandTimeoutMs, 250)),
      )
      this.#cache = cache
      const prefix = this.#prefix
      this.#client.on('invalidate', (key: unknown) => {
        if (key === null) return cache.invalidateAll()
        const name = String(key)
        if (name.startsWith(prefix)) cache.invalidate(name.slice(prefix.length))
      })
      this.#client.on('end', () => cache.connectionLost())
      this.#client.on('reconnecting', () => cache.connectionLost())
      this.#client.on('ready', () => {
        cache.connectionLost()
        // Caching starts only once Redis itself confirms tracking on this very connection.
        const epoch = cache.epoch
        this.#withTimeout(this.#client.sendCommand(['CLIENT', 'TRACKINGINFO'])).then(
          (info) => {
            if (trackingIsOn(info)) cache.trackingConfirmed(epoch)
          },
          () => cache.connectionLost(),
        )
      })
    }
  }

  /** Starts connecting; resolves once connected, but the store is usable (failing) before that. */
  connect(): Promise<void> {
    return this.#client.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new StoreUnavailableError(err)
      },
    )
  }

  /**
   * See SessionStore.getCached: true while the client cache can answer for this session. The
   * answer is frozen and may be shared with other requests.
   */
  getCached(sessionId: string, answer: (data: SessionData | undefined) => void): boolean {
    return this.#cache?.usable === true && this.#cache.lookupLater(sessionId, answer)
  }

  /**
   * With the client cache on, the answer may be shared with other requests and is frozen: callers
   * must not change it.
   */
  async get(sessionId: string): Promise<SessionData | null> {
    const cache = this.#cache
    if (cache?.usable) {
      // Never rejects: it only waits for the turn and reads memory.
      const hit = await cache.lookup(sessionId)
      if (hit !== undefined) return hit
    }
    const fill = cache?.beginFill(sessionId)
    let json: string | null
    let ttlMs = -1
    const key = this.#prefix + sessionId
    if (fill) {
      // Sent in the same tick, so node-redis writes them together: one round trip.
      const [value, pttl] = await this.#command(Promise.all([this.#client.get(key), this.#client.pTTL(key)]))
      json = value as string | null
      ttlMs = pttl as number
    } else {
      json = (await this.#command(this.#client.get(key))) as string | null
    }
    if (json === null) return null
    let data: SessionData
    try {
      const parsed = JSON.parse(json) as unknown
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null
      data = parsed as SessionData
    } catch {
      return null // not a session we can read: treated as no session
    }
    return fill && cache ? cache.endFill(fill, deepFreeze(data), ttlMs) : data
  }

  async set(sessionId: string, data: SessionData, ttlSeconds: number): Promise<void> {
    this.#cache?.invalidate(sessionId)
    try {
      await this.#command(
        this.#client.set(this.#prefix + sessionId, JSON.stringify(data), { EX: ttlSeconds }),
      )
    } finally {
      this.#cache?.invalidate(sessionId)
    }
  }

  async destroy(sessionId: string): Promise<void> {
    // Dropped here before and after the DEL: our own logout must not wait for Redis' push.
    this.#cache?.invalidate(sessionId)
    try {
      await this.#command(this.#client.del(this.#prefix + sessionId))
    } finally {
      this.#cache?.invalidate(sessionId)
    }
  }

  async ping(): Promise<void> {
    await this.#command(this.#client.ping())
  }

  /** The client cache's hits and invalidations so far; undefined with the cache off. */
  get cacheCounts(): { readonly hits: number; readonly invalidations: number } | undefined {
    return this.#cache?.counts
  }

  /** Sessions held in memory now (0 with the client cache off). */
  get cachedSessions(): number {
    return this.#cache?.size ?? 0
  }

  /**
   * A command of the store's API: answered in time, or the cache forgets everything (any doubt
   * about the connection) and the caller gets StoreUnavailableError, to fail closed.
   */
  async #command<T>(command: Promise<T>): Promise<T> {
    try {
      return await this.#withTimeout(command)
    } catch (err) {
      this.#cache?.connectionLost()
      throw new StoreUnavailableError(err)
    }
  }

  // See redis-timeout.ts: our timer, since the client's own was seen not to fire.
  #withTimeout<T>(command: Promise<T>): Promise<T> {
    return withCommandTimeout(command, this.#timeoutMs)
  }

  async close(): Promise<void> {
    this.#cache?.close()
    if (this.#client.isOpen) await this.#client.close().catch(() => this.#client.destroy())
  }
}

/** CLIENT TRACKINGINFO answers a map whose `flags` include `on` (RESP3: a Map or an object). */
function trackingIsOn(info: unknown): boolean {
  const flags = info instanceof Map ? info.get('flags') : (info as { flags?: unknown } | null)?.flags
  return Array.isArray(flags) && flags.some((f) => String(f) === 'on')
}
