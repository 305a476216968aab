// Where failed attempts are counted: in this process (memory-counters.ts) or in Redis, shared by
// every gateway (redis-counters.ts). Fixed windows: a key's window starts with its first count and
// ends windowMs later, whatever happens in between, so an attacker cannot keep a count alive
// and a client that stops is forgiven on time.

export interface AttemptCount {
  /** Counts in the current window, this one included. */
  readonly count: number
  /** Until the window ends (and the key is forgotten). */
  readonly resetInMs: number
}

export interface AttemptCounters {
  /** Adds one to `key`, starting a window of `windowMs` when there is none. Atomic. */
  hit(key: string, windowMs: number): Promise<AttemptCount>
  /** Takes one back (a reserved attempt that succeeded); nothing when the window has ended. */
  refund(key: string): Promise<void>
  /** Remembers `key` for `ttlMs`. */
  mark(key: string, ttlMs: number): Promise<void>
  /** Whether `key` was marked and has not expired. */
  marked(key: string): Promise<boolean>
  /** Drops `keys` (an operator lifting a throttle); resolves to how many were there. */
  forget(keys: readonly string[]): Promise<number>
  close(): Promise<void>
}

/** The counters could not answer; the caller decides between failing open and closed. */
export class CountersUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`rate limit counters unavailable: ${(cause as Error)?.message ?? String(cause)}`)
    this.name = 'CountersUnavailableError'
  }
}
