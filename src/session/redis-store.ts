// Sessions in Redis, in the layout connect-redis uses (key = prefix + session id, value = the
// session as JSON, expiring with the session), so the main web app and the gateway share them.
import { createClient } from 'redis'
import { type SessionData, type SessionStore, StoreUnavailableError } from './session-store.js'

export interface RedisStoreOptions {
  readonly url: string
  readonly password: string | undefined
  readonly keyPrefix: string
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  /**
   * Keep session reads in process memory, invalidated by Redis itself (RESP3 client tracking): a
   * session changed or deleted by anyone is dropped from the cache as Redis sends the invalidation.
   */
  readonly clientCache: boolean
  readonly onError?: (err: Error) => void
}

export class RedisSessionStore implements SessionStore {
  readonly #client
  readonly #prefix: string
  readonly #timeoutMs: number

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix
    this.#timeoutMs = options.commandTimeoutMs
    this.#client = createClient({
      url: options.url,
      ...(options.password ? { password: options.password } : {}),
      RESP: 3,
      ...(options.clientCache
        ? { clientSideCache: { ttl: 0, maxEntries: 100_000, evictPolicy: 'LRU' } }
        : {}),
      socket: {
        connectTimeout: options.connectTimeoutMs,
        // Keep trying in the background; meanwhile every request fails fast with 503.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
      },
      // Without this, commands wait in a queue while Redis is down instead of failing closed at once.
      disableOfflineQueue: true,
    })
    this.#client.on('error', (err: Error) => options.onError?.(err))
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

  async get(sessionId: string): Promise<SessionData | null> {
    let json: string | null
    try {
      json = (await this.#withTimeout(this.#client.get(this.#prefix + sessionId))) as string | null
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
    if (json === null) return null
    try {
      const data = JSON.parse(json) as unknown
      return data && typeof data === 'object' && !Array.isArray(data) ? (data as SessionData) : null
    } catch {
      return null // not a session we can read: treated as no session
    }
  }

  async set(sessionId: string, data: SessionData, ttlSeconds: number): Promise<void> {
    try {
      await this.#withTimeout(
        this.#client.set(this.#prefix + sessionId, JSON.stringify(data), { EX: ttlSeconds }),
      )
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  async destroy(sessionId: string): Promise<void> {
    try {
      await this.#withTimeout(this.#client.del(this.#prefix + sessionId))
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  async ping(): Promise<void> {
    try {
      await this.#withTimeout(this.#client.ping())
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  // Our own timer, not the client's command timeout: that one rides on AbortSignal.timeout, whose
  // abort was seen never to fire against a Redis that stopped answering (SIGSTOP), which would
  // leave downloads hanging instead of failing closed.
  #withTimeout<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs)
    })
    return Promise.race([command, expired]).finally(() => clearTimeout(timer))
  }

  async close(): Promise<void> {
    if (this.#client.isOpen) await this.#client.close().catch(() => this.#client.destroy())
  }
}
