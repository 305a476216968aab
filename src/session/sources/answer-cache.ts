// Answers of a slow lookup kept for a fixed time under an exact key, and one lookup in flight per
// key. The callback source keys it by the exact cookies it forwards, so an answer is only ever
// reused for the very same cookie value: never across sessions. The time an answer is kept is
// the staleness bound the docs promise (a logout in the app takes effect within it).
export class AnswerCache<V> {
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number
  /** Insertion order is age order: the first key is the oldest, evicted first. */
  readonly #answers = new Map<string, { readonly value: V; readonly until: number }>()
  readonly #inFlight = new Map<string, Promise<V>>()

  /** `ttlMs` 0: nothing is kept, only concurrent lookups are shared. */
  constructor(ttlMs: number, maxEntries: number, now: () => number = () => performance.now()) {
    this.#ttlMs = ttlMs
    this.#maxEntries = maxEntries
    this.#now = now
  }

  /** The kept answer for `key` while it is fresh. */
  get(key: string): V | undefined {
    const hit = this.#answers.get(key)
    if (hit === undefined) return undefined
    if (hit.until > this.#now()) return hit.value
    this.#answers.delete(key)
    return undefined
  }

  /**
   * The answer for `key`: one call of `lookup` however many ask at once. Its answer is kept when
   * `keep(answer)` says so; a rejection is never kept (the next request asks again).
   */
  load(key: string, lookup: () => Promise<V>, keep: (value: V) => boolean): Promise<V> {
    const pending = this.#inFlight.get(key)
    if (pending !== undefined) return pending
    const started = lookup().then(
      (value) => {
        this.#inFlight.delete(key)
        if (this.#ttlMs > 0 && keep(value)) this.#keep(key, value)
        return value
      },
      (err: unknown) => {
        this.#inFlight.delete(key)
        throw err
      },
    )
    this.#inFlight.set(key, started)
    return started
  }

  get size(): number {
    return this.#answers.size
  }

  clear(): void {
    this.#answers.clear()
  }

  #keep(key: string, value: V): void {
    this.#answers.delete(key)
    if (this.#answers.size >= this.#maxEntries) {
      const oldest = this.#answers.keys().next()
      if (!oldest.done) this.#answers.delete(oldest.value)
    }
    this.#answers.set(key, { value, until: this.#now() + this.#ttlMs })
  }
}
