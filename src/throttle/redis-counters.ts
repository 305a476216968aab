// Counters in Redis, shared by every gateway: the one module that talks to Redis for rate limits,
// so the connection can come from elsewhere (a Sentinel or Cluster client) by changing only how
// the client is made here. Every operation touches one key, so each lands in one Cluster slot.
// A count is one Lua script (INCR, then PEXPIRE on the first count), which Redis runs atomically:
// concurrent attempts on any number of gateways each get their own number, and a key never lives
// without its expiry.
import { createClient } from 'redis'
import { type AttemptCount, type AttemptCounters, CountersUnavailableError } from './attempt-counters.js'

export interface RedisCountersOptions {
  readonly url: string
  readonly password: string | undefined
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  /** Prepended to every key. */
  readonly keyPrefix?: string
  readonly onError?: (err: Error) => void
}

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`
// DECR only a live key: one that expired in between would come back as -1 with no expiry.
const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
`

export class RedisCounters implements AttemptCounters {
  readonly #client
  readonly #prefix: string
  readonly #timeoutMs: number
  /** The first connection: commands made before it wait for it, within their own timeout. */
  #connecting: Promise<void> | undefined

  constructor(options: RedisCountersOptions) {
    this.#prefix = options.keyPrefix ?? 'gw:rl:'
    this.#timeoutMs = options.commandTimeoutMs
    this.#client = createClient({
      url: options.url,
      ...(options.password ? { password: options.password } : {}),
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: options.connectTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
      },
      // An answer now or an error now, never a queue that grows while Redis is away.
      disableOfflineQueue: true,
    })
    this.#client.on('error', (err: Error) => options.onError?.(err))
  }

  connect(): Promise<void> {
    this.#connecting ??= this.#client.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new CountersUnavailableError(err)
      },
    )
    return this.#connecting
  }

  async hit(key: string, windowMs: number): Promise<AttemptCount> {
    const reply = await this.#command(() =>
      this.#client.eval(HIT, { keys: [this.#prefix + key], arguments: [String(windowMs)] }),
    )
    const [count, pttl] = reply as [number, number]
    return { count: Number(count), resetInMs: Math.max(Number(pttl), 0) }
  }

  async refund(key: string): Promise<void> {
    await this.#command(() => this.#client.eval(REFUND, { keys: [this.#prefix + key] }))
  }

  async mark(key: string, ttlMs: number): Promise<void> {
    await this.#command(() => this.#client.set(this.#prefix + key, '1', { PX: ttlMs }))
  }

  async marked(key: string): Promise<boolean> {
    return Number(await this.#command(() => this.#client.exists(this.#prefix + key))) === 1
  }

  async close(): Promise<void> {
    if (this.#client.isOpen) await this.#client.close().catch(() => this.#client.destroy())
  }

  // Our own timer: the client's command timeout was seen never to fire against a Redis that
  // stopped answering (see session/redis-timeout.ts).
  async #command<T>(command: () => Promise<T>): Promise<T> {
    const connecting = this.#connecting
    const sent = connecting === undefined || this.#client.isReady ? command() : connecting.then(command)
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs)
    })
    try {
      return await Promise.race([sent, expired])
    } catch (err) {
      throw new CountersUnavailableError(err)
    } finally {
      clearTimeout(timer)
    }
  }
}
