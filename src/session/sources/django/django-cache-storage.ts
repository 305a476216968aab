// The `cache` and `cached_db` session backends on Redis through django-redis: the session dict
// itself (not the signed session_data) under Django's cache key, pickled by django-redis'
// default PickleSerializer with no compressor, with a TTL of the session's expiry age, so an
// expired session is simply a missing key. The key is what Django's default KEY_FUNCTION makes:
//
//   <KEY_PREFIX>:<VERSION>:<django.contrib.sessions.cache | django.contrib.sessions.cached_db><session key>
//
// e.g. `:1:django.contrib.sessions.cache<key>` with CACHES' default empty KEY_PREFIX and VERSION 1.
// The bytes are only handed to the safe unpickler; nothing here evaluates them.
import { createClient, RESP_TYPES } from 'redis'
import { withCommandTimeout } from '../../../redis/command-timeout.js'
import { StoreUnavailableError } from '../../session-store.js'

/** The cache key prefix of each Django backend (django/contrib/sessions/backends/). */
export const DJANGO_CACHE_KEY_PREFIX = Object.freeze({
  cache: 'django.contrib.sessions.cache',
  cached_db: 'django.contrib.sessions.cached_db',
})

export interface DjangoRedisConnection {
  readonly url: string
  readonly password: string | undefined
  /** The Redis database django-redis' LOCATION names (`redis://host:6379/<db>`). */
  readonly database: number
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  readonly onError?: (err: Error) => void
}

export interface DjangoCacheOptions extends DjangoRedisConnection {
  readonly backend: keyof typeof DJANGO_CACHE_KEY_PREFIX
  /** CACHES[...]['KEY_PREFIX'] (default ''). */
  readonly keyPrefix: string
  /** CACHES[...]['VERSION'] (default 1). */
  readonly version: number
  readonly maxBytes: number
}

/** The bytes at the key; null: no such key (logged out, expired, or never there). */
export type DjangoCached = Uint8Array | null | 'too-large'

/**
 * The one place a Redis client for Django's cache is made: a client that answers GET as bytes.
 * Another connection kind (Sentinel, Cluster) changes only this function.
 */
function openBytesClient(o: DjangoRedisConnection) {
  const client = createClient({
    url: o.url,
    ...(o.password ? { password: o.password } : {}),
    database: o.database,
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: o.connectTimeoutMs,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
    // Fail closed at once while Redis is down, rather than queue the download.
    disableOfflineQueue: true,
  })
  client.on('error', (err: Error) => o.onError?.(err))
  return { client, bytes: client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) }
}

export class DjangoCacheStorage {
  readonly #o: DjangoCacheOptions
  readonly #keyHead: string
  readonly #client
  readonly #bytes
  readonly #connected: Promise<void>

  constructor(o: DjangoCacheOptions) {
    this.#o = o
    this.#keyHead = `${o.keyPrefix}:${o.version}:${DJANGO_CACHE_KEY_PREFIX[o.backend]}`
    const { client, bytes } = openBytesClient(o)
    this.#client = client
    this.#bytes = bytes
    this.#connected = client.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new StoreUnavailableError(err)
      },
    )
    this.#connected.catch(() => {})
  }

  /** The Redis key of a session key: exactly the one Django and django-redis write. */
  keyOf(sessionKey: string): string {
    return this.#keyHead + sessionKey
  }

  connected(): Promise<void> {
    return this.#connected
  }

  async read(checkedKey: string): Promise<DjangoCached> {
    const value = await this.#command(this.#bytes.get(this.keyOf(checkedKey)))
    if (value === null) return null
    return value.length > this.#o.maxBytes ? 'too-large' : value
  }

  async ping(): Promise<void> {
    await this.#command(this.#client.ping())
  }

  async close(): Promise<void> {
    if (this.#client.isReady) await this.#client.close().catch(() => this.#client.destroy())
    else if (this.#client.isOpen) this.#client.destroy()
  }

  async #command<T>(command: Promise<T>): Promise<T> {
    try {
      return await withCommandTimeout(command, this.#o.commandTimeoutMs)
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }
}
