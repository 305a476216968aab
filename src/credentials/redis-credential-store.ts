// Links and tokens in Redis, shared by every gateway: a revocation written by one is seen by all
// on their next request (a link without a limit is one GET of its revocation marker), and a
// download limit is counted by one Lua script (EXISTS, INCR, EXPIREAT), which Redis runs
// atomically, so N concurrent downloads of a link limited to K get exactly K admissions. Keys
// carry the link id as a hash tag (`link:{id}:revoked`, `link:{id}:count`): Redis Cluster runs a
// script only when all its keys hash to one slot, and only the part inside the braces is hashed,
// so both keys of a link always land together.
//
// The download path's reads (admitLinkByCallback, getTokenByCallback) are answered by callback in
// node-redis' own promise reaction and timed by one shared CommandDeadlines, as the session
// store's are: a promise chain and a timer per read cost a link or token download more Node CPU
// than a session download (see the commit that made them so).
//
// With `clientCache` (the session config's `client_cache`, one server only) the replies of those
// GETs, token records and revocation markers alike, present or absent, are kept in a TrackedCache,
// exact as the session cache is: Redis invalidates a key we read when anyone writes it (a
// revocation creates the marker), so revocation still holds on the very next request, and a Redis
// that stops answering stops the cache within its heartbeat's silence, then reads fail: 503. A
// counted link is never answered from memory: its count is the script's, every time.

import { createHash } from 'node:crypto'
import { BoundedMemo } from '../bounded-memo.js'
import { CommandDeadlines } from '../redis/command-deadlines.js'
import { withCommandTimeout } from '../redis/command-timeout.js'
import {
  createRedisConnection,
  type RedisCommands,
  type RedisConnection,
  type RedisConnectionSettings,
} from '../redis/connection.js'
import { type TrackedCache, trackedCacheExact, trackedCacheOn } from '../redis/tracked-cache.js'
import {
  type CredentialStore,
  CredentialStoreUnavailableError,
  type LinkAdmission,
  TOKEN_KEEP_AFTER_EXPIRY_S,
} from './credential-store.js'
import type { TokenRecord } from './tokens/access-token.js'

export interface RedisCredentialStoreOptions extends RedisConnectionSettings {
  readonly commandTimeoutMs: number
  /** Keep token records and link revocation markers in memory, exactly (see the header). */
  readonly clientCache?: boolean
  /** Prepended to every key: `gw:` by default. */
  readonly keyPrefix?: string | undefined
  /** Default true: keep reconnecting in the background. False (one-shot commands): fail at once. */
  readonly reconnect?: boolean
  readonly onError?: (err: Error) => void
}

// KEYS[1] revoked marker, KEYS[2] counter; ARGV[1] limit (0: none), ARGV[2] counter expiry (unix s).
// Returns -1 revoked, -2 used up, else the downloads counted so far (0 without a limit).
const ADMIT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local limit = tonumber(ARGV[1])
if limit == 0 then return 0 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIREAT', KEYS[2], ARGV[2]) end
if n > limit then return -2 end
return n
`
// EVALSHA by a digest computed here: SCRIPT LOAD would go to one node of a cluster, not
// necessarily the one that owns the link's slot, so a NOSCRIPT answer is met with EVAL instead.
const ADMIT_SHA1 = createHash('sha1').update(ADMIT_SCRIPT).digest('hex')

/** Distinct token record texts kept parsed: a script downloading many files sends one token. */
export const PARSED_TOKEN_RECORDS_MAX = 1_000

/** Token records and revocation markers kept in memory at most; the oldest goes first. */
export const CREDENTIAL_CACHE_MAX_ENTRIES = 10_000

type Answer<T> = (result: T | CredentialStoreUnavailableError) => void
/** A GET's reply: the record's text or the marker, null when there is no such key. */
type Reply = string | null

export class RedisCredentialStore implements CredentialStore {
  readonly #connection: RedisConnection
  readonly #client: RedisCommands
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #deadlines: CommandDeadlines
  /** Record text -> the record, frozen: the text read is compared whole, so a change is seen. */
  readonly #parsed = new BoundedMemo<string, TokenRecord | null>(PARSED_TOKEN_RECORDS_MAX)
  /** Keyed by the Redis key without the prefix (`token:<id>`, `link:{<id>}:revoked`). */
  readonly #cache: TrackedCache<Reply> | undefined
  readonly #single: RedisConnection['single']

  constructor(options: RedisCredentialStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'gw:'
    this.#timeoutMs = options.commandTimeoutMs
    this.#deadlines = new CommandDeadlines(options.commandTimeoutMs)
    const cacheOn = options.clientCache === true && trackedCacheExact(options.mode)
    this.#connection = createRedisConnection({
      ...options,
      ...(cacheOn ? { resp3: true, emitInvalidate: true } : {}),
      onError: (err: Error) => {
        this.#cache?.connectionLost()
        options.onError?.(err)
      },
    })
    this.#client = this.#connection.commands
    const single = this.#connection.single
    this.#single = single
    if (cacheOn && single) {
      this.#cache = trackedCacheOn<Reply>(
        single,
        {
          maxEntries: CREDENTIAL_CACHE_MAX_ENTRIES,
          prefix: this.#prefix,
          commandTimeoutMs: options.commandTimeoutMs,
        },
        (command) => withCommandTimeout(command, this.#timeoutMs),
      )
    }
  }

  connect(): Promise<void> {
    return this.#connection.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new CredentialStoreUnavailableError(err)
      },
    )
  }

  admitLink(id: string, maxDownloads: number | undefined, expiresAt: number): Promise<LinkAdmission> {
    return promised((answer) => this.admitLinkByCallback(id, maxDownloads, expiresAt, answer))
  }

  admitLinkByCallback(
    id: string,
    maxDownloads: number | undefined,
    expiresAt: number,
    answer: Answer<LinkAdmission>,
  ): void {
    // Nothing to count: one GET of the revocation marker is the whole check, and costs both Redis
    // and the gateway less than a script (bench/NOTES.md, "Links and tokens").
    if (maxDownloads === undefined) {
      this.#get(this.#linkKey(id, 'revoked'), answer, revokedOrOk)
      return
    }
    const keys = [this.#prefix + this.#linkKey(id, 'revoked'), this.#prefix + this.#linkKey(id, 'count')]
    const args = [String(maxDownloads), String(expiresAt + 60)]
    this.#read(this.#admit(keys, args), answer, admissionOf)
  }

  async revokeLink(id: string, untilSeconds: number): Promise<void> {
    await this.#write(this.#linkKey(id, 'revoked'), (key) =>
      this.#client.set(key, '1', { EXAT: untilSeconds }),
    )
  }

  async putToken(record: TokenRecord): Promise<void> {
    await this.#write(this.#tokenKey(record.id), (key) =>
      this.#client.set(key, JSON.stringify(record), { EXAT: record.expiresAt + TOKEN_KEEP_AFTER_EXPIRY_S }),
    )
  }

  getToken(id: string): Promise<TokenRecord | null> {
    return promised((answer) => this.getTokenByCallback(id, answer))
  }

  getTokenByCallback(id: string, answer: Answer<TokenRecord | null>): void {
    this.#get(this.#tokenKey(id), answer, this.#record)
  }

  async revokeToken(id: string): Promise<boolean> {
    const record = await this.getToken(id)
    if (record === null) return false
    const answer = await this.#write(this.#tokenKey(id), (key) =>
      this.#client.set(key, JSON.stringify({ ...record, revoked: true }), { KEEPTTL: true, XX: true }),
    )
    return answer !== null
  }

  /** Token records and revocation markers held in memory now (0 with the cache off). */
  get cachedEntries(): number {
    return this.#cache?.size ?? 0
  }

  async close(): Promise<void> {
    this.#cache?.close()
    await this.#connection.close()
  }

  /** EVALSHA; EVAL (which caches the script on that node) when the node does not know it yet. */
  async #admit(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#client.evalSha(ADMIT_SHA1, { keys, arguments: args })
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err
      return this.#client.eval(ADMIT_SCRIPT, { keys, arguments: args })
    }
  }

  /** A GET of the download path: from memory when the cache may answer, else from Redis. */
  #get<T>(key: string, answer: Answer<T>, decode: (reply: Reply) => T): void {
    const cache = this.#cache
    const cached =
      cache?.usable === true &&
      cache.lookupLater(key, (hit) => {
        if (hit === undefined) this.#fetch(key, answer, decode)
        else answer(decode(hit))
      })
    if (!cached) this.#fetch(key, answer, decode)
  }

  #fetch<T>(key: string, answer: Answer<T>, decode: (reply: Reply) => T): void {
    const fill = this.#cache?.beginFill(key)
    if (fill === undefined) {
      this.#read(this.#client.get(this.#prefix + key) as Promise<Reply>, answer, decode)
      return
    }
    // A fill is begun only with the cache on, which needs the one server. Sent in the same tick,
    // so node-redis writes them together: one round trip.
    const single = this.#single as NonNullable<RedisConnection['single']>
    const cache = this.#cache as TrackedCache<Reply>
    const full = this.#prefix + key
    this.#read(Promise.all([single.get(full), single.pTTL(full)]), answer, ([reply, pttl]) => {
      // An absent key is kept too (an unrevoked link's marker is absent): Redis tracks the name
      // read, present or not, and invalidates it when the key is created. A key that came or went
      // between the GET and the PTTL is not kept (-2).
      const value = reply as Reply
      const ttlMs = value === null ? (pttl === -2 ? -1 : -2) : (pttl as number)
      return decode(cache.endFill(fill, value, ttlMs))
    })
  }

  /** A write through the admin API or CLI: our own cache forgets the key before and after. */
  async #write<T>(key: string, send: (fullKey: string) => Promise<T>): Promise<T> {
    this.#cache?.invalidate(key)
    try {
      return await this.#command(send(this.#prefix + key))
    } finally {
      this.#cache?.invalidate(key)
    }
  }

  /**
   * One command of the download path: `answer` gets `decode` of its reply, or
   * CredentialStoreUnavailableError when it fails or does not answer within the timeout.
   */
  #read<R, T>(command: Promise<R>, answer: Answer<T>, decode: (reply: R) => T): void {
    const deadlines = this.#deadlines
    const deadline = deadlines.watch(() => {
      // Any doubt about the connection: the cache forgets everything.
      this.#cache?.connectionLost()
      answer(new CredentialStoreUnavailableError(new Error(`no answer within ${this.#timeoutMs} ms`)))
    })
    command.then(
      (reply) => {
        if (deadlines.settle(deadline)) answer(decode(reply))
      },
      (err: unknown) => {
        if (!deadlines.settle(deadline)) return
        this.#cache?.connectionLost()
        answer(new CredentialStoreUnavailableError(err))
      },
    )
  }

  /** A token record's text as read: parsed once per distinct text, unreadable as no record. */
  readonly #record = (json: unknown): TokenRecord | null => {
    if (typeof json !== 'string') return null
    const known = this.#parsed.get(json)
    if (known !== undefined) return known
    let record: TokenRecord | null
    try {
      record = Object.freeze(JSON.parse(json) as TokenRecord)
    } catch {
      record = null
    }
    this.#parsed.set(json, record)
    return record
  }

  /** Without the prefix: the cache's key. */
  #linkKey(id: string, what: 'revoked' | 'count'): string {
    return `link:{${id}}:${what}`
  }

  #tokenKey(id: string): string {
    return `token:${id}`
  }

  async #command<T>(command: Promise<T>): Promise<T> {
    try {
      return await withCommandTimeout(command, this.#timeoutMs)
    } catch (err) {
      this.#cache?.connectionLost()
      throw new CredentialStoreUnavailableError(err)
    }
  }
}

function revokedOrOk(marker: unknown): LinkAdmission {
  return marker === null ? 'ok' : 'revoked'
}

/** The admission script's answer: -1 revoked, -2 used up, else admitted. */
function admissionOf(result: unknown): LinkAdmission {
  const n = Number(result)
  if (n === -1) return 'revoked'
  if (n === -2) return 'used-up'
  return 'ok'
}

function promised<T>(start: (answer: Answer<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    start((result) => (result instanceof CredentialStoreUnavailableError ? reject(result) : resolve(result))),
  )
}
