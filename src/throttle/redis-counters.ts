// Counters in Redis, shared by every gateway. The connection is the one every Redis user of the
// gateway makes (redis/connection.ts: one server, a Sentinel group's primary or a Cluster). Every
// operation touches one key, so each lands in one Cluster slot. A count is one Lua script (INCR,
// then PEXPIRE on the first count), which Redis runs atomically: concurrent attempts on any number
// of gateways each get their own number, and a key never lives without its expiry.

import { createHash } from 'node:crypto'
import { withCommandTimeout } from '../redis/command-timeout.js'
import {
  createRedisConnection,
  type RedisCommands,
  type RedisConnection,
  type RedisConnectionSettings,
} from '../redis/connection.js'
import { type AttemptCount, type AttemptCounters, CountersUnavailableError } from './attempt-counters.js'

export interface RedisCountersOptions extends RedisConnectionSettings {
  readonly commandTimeoutMs: number
  /** Prepended to every key: `gw:rl:` by default. */
  readonly keyPrefix?: string
  readonly onError?: (err: Error) => void
  /** False for one-shot commands (the CLI): fail at once instead of reconnecting. */
  readonly reconnect?: boolean
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
// EVALSHA by digests computed here (SCRIPT LOAD would reach one node of a cluster only); EVAL when
// the node answers NOSCRIPT.
const SCRIPTS = new Map([HIT, REFUND].map((s) => [s, createHash('sha1').update(s).digest('hex')]))

export class RedisCounters implements AttemptCounters {
  readonly #connection: RedisConnection
  readonly #client: RedisCommands
  readonly #prefix: string
  readonly #timeoutMs: number
  /** The first connection: commands made before it wait for it, within their own timeout. */
  #connecting: Promise<void> | undefined
  #connected = false

  constructor(options: RedisCountersOptions) {
    this.#prefix = options.keyPrefix ?? 'gw:rl:'
    this.#timeoutMs = options.commandTimeoutMs
    this.#connection = createRedisConnection(options)
    this.#client = this.#connection.commands
  }

  connect(): Promise<void> {
    this.#connecting ??= this.#connection.connect().then(
      () => {
        this.#connected = true
      },
      (err: unknown) => {
        throw new CountersUnavailableError(err)
      },
    )
    return this.#connecting
  }

  async hit(key: string, windowMs: number): Promise<AttemptCount> {
    const reply = await this.#command(() => this.#script(HIT, [this.#prefix + key], [String(windowMs)]))
    const [count, pttl] = reply as [number, number]
    return { count: Number(count), resetInMs: Math.max(Number(pttl), 0) }
  }

  async refund(key: string): Promise<void> {
    await this.#command(() => this.#script(REFUND, [this.#prefix + key], []))
  }

  async mark(key: string, ttlMs: number): Promise<void> {
    await this.#command(() => this.#client.set(this.#prefix + key, '1', { EX: Math.ceil(ttlMs / 1000) }))
  }

  async marked(key: string): Promise<boolean> {
    return (await this.#command(() => this.#client.get(this.#prefix + key))) !== null
  }

  async forget(keys: readonly string[]): Promise<number> {
    // One DEL a key: in a Cluster the keys may live in different slots.
    const dropped = await Promise.all(
      keys.map((key) => this.#command(() => this.#client.del(this.#prefix + key))),
    )
    return dropped.reduce((sum, n) => sum + Number(n), 0)
  }

  close(): Promise<void> {
    return this.#connection.close()
  }

  async #script(script: string, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#client.evalSha(SCRIPTS.get(script) as string, { keys, arguments: args })
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err
      return this.#client.eval(script, { keys, arguments: args })
    }
  }

  // Our own timer: the client's command timeout was seen never to fire against a Redis that
  // stopped answering (see redis/command-timeout.ts).
  async #command<T>(command: () => Promise<T>): Promise<T> {
    const connecting = this.#connecting
    const sent = connecting === undefined || this.#connected ? command() : connecting.then(command)
    try {
      return await withCommandTimeout(sent, this.#timeoutMs)
    } catch (err) {
      throw new CountersUnavailableError(err)
    }
  }
}
