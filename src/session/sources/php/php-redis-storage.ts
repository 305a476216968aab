// phpredis' session handler (`session.save_handler = redis`): the session is the string at
// `<prefix><id>` (prefix `PHPREDIS_SESSION:` unless the save_path's `prefix=` says otherwise),
// written with SETEX session.gc_maxlifetime, so Redis itself forgets an idle session and a missing
// key is all "expired" can look like here.
//
// PHP strings are bytes, and a session may hold strings that are not UTF-8: the value is read as a
// Buffer (a type mapping on this client only), never through a text decoding that would replace
// bytes and shift every length the decoder checks. Same fail-closed rules as the connect store
// (redis-store.ts): our own command timer, no offline queue, reconnection in the background.
// No client cache: every download is one GET (its cost is in bench/NOTES.md).

import { withCommandTimeout } from '../../../redis/command-timeout.js'
import {
  createRedisConnection,
  type RedisBytes,
  type RedisConnection,
  type RedisConnectionSettings,
} from '../../../redis/connection.js'
import { StoreUnavailableError } from '../../session-store.js'
import type { PhpSessionStorage, PhpStoredSession } from './php-session-storage.js'

export interface PhpRedisOptions extends RedisConnectionSettings {
  readonly keyPrefix: string
  readonly commandTimeoutMs: number
  readonly maxBytes: number
  readonly onError?: (err: Error) => void
}

export class PhpRedisStorage implements PhpSessionStorage {
  readonly #connection: RedisConnection
  readonly #bytes: RedisBytes
  readonly #o: PhpRedisOptions
  readonly #connected: Promise<void>

  constructor(o: PhpRedisOptions) {
    this.#o = o
    this.#connection = createRedisConnection(o)
    this.#bytes = this.#connection.bytes()
    // Connecting starts at once; until it succeeds every read fails closed (no offline queue).
    this.#connected = this.#connection.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new StoreUnavailableError(err)
      },
    )
    this.#connected.catch(() => {})
  }

  /** Resolves once the first connection is up; rejects with StoreUnavailableError if it failed. */
  connected(): Promise<void> {
    return this.#connected
  }

  async read(checkedId: string): Promise<PhpStoredSession> {
    const value = await this.#command(this.#bytes.get(this.#o.keyPrefix + checkedId))
    if (value === null) return 'unknown'
    if (value.length > this.#o.maxBytes) return 'too-large'
    return value
  }

  async ping(): Promise<void> {
    await this.#command(this.#connection.ping())
  }

  async close(): Promise<void> {
    await this.#connection.close()
  }

  async #command<T>(command: Promise<T>): Promise<T> {
    try {
      return await withCommandTimeout(command, this.#o.commandTimeoutMs)
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }
}
