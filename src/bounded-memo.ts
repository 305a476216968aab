// A memo of at most N things that were worked out once (a verified cookie, a verified link, a
// token's digest, a decoded session): what the download path asks again and again is kept, and
// memory stays bounded whatever clients send.
//
// When full, the entry stored first goes. A Map iterates in insertion order, so that entry is its
// first key: eviction is O(1) and a hit costs one Map lookup and nothing else. A least-recently-
// used order would move the entry on every hit, a cost paid by every download to improve only the
// rare download whose entry fell out; an entry that goes while still in use is simply worked out
// again on its next request. Emptying the whole memo when full (what each copy did before) threw
// away the entries in use along with the stale ones, all at once.

export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #maxEntries: number

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('a bounded memo holds at least one entry')
    this.#maxEntries = maxEntries
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Remembers `value`; when the memo is full, the oldest entry goes to make room. */
  set(key: K, value: V): void {
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(key))
      this.#entries.delete(this.#entries.keys().next().value as K)
    this.#entries.set(key, value)
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}
