// Counters of one gateway process (session.store: memory). Expired keys are dropped as they are
// met and swept when the map grows, so a flood of fresh addresses cannot grow it without bound
// for longer than one window.
import type { AttemptCount, AttemptCounters } from './attempt-counters.js'

const SWEEP_AT = 10_000

interface Entry {
  count: number
  expiresAt: number
}

export class MemoryCounters implements AttemptCounters {
  readonly #entries = new Map<string, Entry>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  async hit(key: string, windowMs: number): Promise<AttemptCount> {
    const now = this.#now()
    let entry = this.#live(key, now)
    if (entry === undefined) {
      if (this.#entries.size >= SWEEP_AT) this.#sweep(now)
      entry = { count: 0, expiresAt: now + windowMs }
      this.#entries.set(key, entry)
    }
    entry.count += 1
    return { count: entry.count, resetInMs: entry.expiresAt - now }
  }

  async refund(key: string): Promise<void> {
    const entry = this.#live(key, this.#now())
    if (entry !== undefined && entry.count > 0) entry.count -= 1
  }

  async mark(key: string, ttlMs: number): Promise<void> {
    this.#entries.set(key, { count: 1, expiresAt: this.#now() + ttlMs })
  }

  async marked(key: string): Promise<boolean> {
    return this.#live(key, this.#now()) !== undefined
  }

  async forget(keys: readonly string[]): Promise<number> {
    const now = this.#now()
    let dropped = 0
    for (const key of keys) {
      if (this.#live(key, now) !== undefined) dropped++
      this.#entries.delete(key)
    }
    return dropped
  }

  async close(): Promise<void> {
    this.#entries.clear()
  }

  /** Keys held now (tests). */
  get size(): number {
    return this.#entries.size
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.expiresAt > now) return entry
    this.#entries.delete(key)
    return undefined
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key)
  }
}
