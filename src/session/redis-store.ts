// Sessions in Redis, in the layout connect-redis uses (key = prefix + session id, value = the
// session as JSON, expiring with the session), so the main web app and the gateway share them.
import type { GatewayConfig } from '../config/gateway-config.js'
import { deepFreeze } from '../deep-freeze.js'
import { CommandDeadlines } from '../redis/command-deadlines.js'
import { withCommandTimeout } from '../redis/command-timeout.js'
import { createRedisConnection, type RedisCommands, type RedisConnection } from '../redis/connection.js'
import { type TrackedCache, trackedCacheExact, trackedCacheOn } from '../redis/tracked-cache.js'
import { DecodedSessions, sessionFromJson } from './decoded-sessions.js'
import { type SessionData, type SessionStore, StoreUnavailableError } from './session-store.js'

/**
 * The `session.redis` part of the gateway config. With `clientCache`, sessions read are kept in
 * process memory, invalidated by Redis itself (RESP3 client tracking): a session changed or deleted
 * by anyone is dropped as Redis sends the invalidation, and cached answers are given only while a
 * heartbeat PING proves the connection alive (see redis/tracked-cache.ts).
 */
export type RedisStoreOptions = GatewayConfig['session']['redis'] & {
  readonly onError?: (err: Error) => void
}

/** Most sessions kept in memory; the oldest entry goes first when it is full. */
export const CLIENT_CACHE_MAX_ENTRIES = 10_000

/** Distinct session texts kept decoded for the download path's reads (see DecodedSessions). */
export const DECODED_MAX_ENTRIES = 1_000

export class RedisSessionStore implements SessionStore {
  readonly #connection: RedisConnection
  readonly #client: RedisCommands
  /** The same client, typed as what it is, when there is one server (the client cache needs it). */
  readonly #single: RedisConnection['single']
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #cache: TrackedCache<SessionData> | undefined
  readonly #deadlines: CommandDeadlines
  readonly #decoded = new DecodedSessions(DECODED_MAX_ENTRIES)

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix
    this.#timeoutMs = options.commandTimeoutMs
    this.#deadlines = new CommandDeadlines(options.commandTimeoutMs)
    // See clientCacheOff(): exact only over one connection to one server.
    const cacheOn = options.clientCache && clientCacheOff(options.mode) === undefined
    this.#connection = createRedisConnection({
      ...options,
      resp3: true,
      emitInvalidate: cacheOn,
      onError: (err: Error) => {
        this.#cache?.connectionLost()
        options.onError?.(err)
      },
    })
    this.#client = this.#connection.commands
    const single = this.#connection.single
    this.#single = single
    if (cacheOn && single) {
      this.#cache = trackedCacheOn<SessionData>(
        single,
        {
          maxEntries: CLIENT_CACHE_MAX_ENTRIES,
          prefix: this.#prefix,
          commandTimeoutMs: options.commandTimeoutMs,
        },
        (command) => this.#withTimeout(command),
      )
    }
  }

  /** Starts connecting; resolves once connected, but the store is usable (failing) before that. */
  connect(): Promise<void> {
    return this.#connection.connect().then(
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
      // A fill is begun only with the cache on, which needs the one server.
      const single = this.#single as NonNullable<RedisConnection['single']>
      const [value, pttl] = await this.#command(Promise.all([single.get(key), single.pTTL(key)]))
      json = value as string | null
      ttlMs = pttl as number
    } else {
      json = (await this.#command(this.#client.get(key))) as string | null
    }
    const data = sessionFromJson(json)
    return fill && cache && data !== null ? cache.endFill(fill, deepFreeze(data), ttlMs) : data
  }

  /**
   * See SessionStore.getByCallback: the download path's read. Without the client cache, one GET
   * whose answer is handled in node-redis' own promise reaction, timed by the shared deadlines
   * instead of a timer per read; the answer comes exactly once, whichever of the two is first.
   */
  getByCallback(sessionId: string, answer: (data: SessionData | null | Error) => void): void {
    if (this.#cache !== undefined) {
      // A miss fills the cache, guarded against invalidations in flight: get() does that.
      this.get(sessionId).then(answer, answer)
      return
    }
    const deadline = this.#deadlines.watch(() =>
      answer(new StoreUnavailableError(new Error(`no answer within ${this.#timeoutMs} ms`))),
    )
    this.#client.get(this.#prefix + sessionId).then(
      (json) => {
        if (this.#deadlines.settle(deadline)) answer(this.#decoded.decode(json))
      },
      (err: unknown) => {
        if (this.#deadlines.settle(deadline)) answer(new StoreUnavailableError(err))
      },
    )
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
    await this.#command(this.#connection.ping())
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

  // See redis/command-timeout.ts: our timer, since the client's own was seen not to fire.
  #withTimeout<T>(command: Promise<T>): Promise<T> {
    return withCommandTimeout(command, this.#timeoutMs)
  }

  async close(): Promise<void> {
    this.#cache?.close()
    await this.#connection.close()
  }
}

/** Why the client cache cannot run on this topology (see trackedCacheExact), or undefined. */
export function clientCacheOff(mode: RedisConnection['mode']): string | undefined {
  return trackedCacheExact(mode)
    ? undefined
    : `session.redis.client_cache is off with mode ${mode}: a failover or slot move would leave cached sessions no server invalidates; every download reads Redis`
}
