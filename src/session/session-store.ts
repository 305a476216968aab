// What the gateway needs of a session store. Sessions are plain JSON objects, as @fastify/session
// and express-session write them (a `cookie` object plus the app's own fields).
export type SessionData = Record<string, unknown>

export interface SessionStore {
  /**
   * The session, or null if there is none. Rejects with StoreUnavailableError when it cannot say.
   * A store may hand the same frozen object to several requests (the Redis client cache): never
   * change what it returns.
   */
  get(sessionId: string): Promise<SessionData | null>
  /**
   * Optional, for stores that keep sessions in memory: when this session may be answered from
   * there, returns true and calls `answer` once, later, with it (undefined: call get() after all).
   * False: call get(). `answer` must not throw.
   */
  getCached?(sessionId: string, answer: (data: SessionData | undefined) => void): boolean
  /**
   * Optional: get() by callback, for the download path's one read, where a chain of promises
   * costs more than the read's own work. `answer` is called exactly once and never synchronously:
   * with the session, null if there is none, StoreUnavailableError when the store cannot say (fail
   * closed), any other Error on a bug. The session may be shared and frozen: never change it.
   */
  getByCallback?(sessionId: string, answer: (data: SessionData | null | Error) => void): void
  set(sessionId: string, data: SessionData, ttlSeconds: number): Promise<void>
  destroy(sessionId: string): Promise<void>
  /** Resolves when the store can answer, rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The store did not answer in time or is unreachable: the caller must refuse (fail closed). */
export class StoreUnavailableError extends Error {
  readonly code = 'GW_ERR_STORE_UNAVAILABLE'
  constructor(cause: unknown) {
    super(`session store unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'StoreUnavailableError'
  }
}

/** Seconds a session should live in the store, from its cookie's expiry when it has one. */
export function ttlSecondsFor(data: SessionData, fallbackSeconds: number, now = Date.now()): number {
  const at = sessionExpiresAt(data)
  return Number.isFinite(at) ? Math.max(1, Math.ceil((at - now) / 1000)) : fallbackSeconds
}

/** When the session's cookie expires (ms): Infinity without an expiry, -Infinity if unreadable. */
export function sessionExpiresAt(data: SessionData): number {
  const expires = (data.cookie as { expires?: unknown } | undefined)?.expires
  if (!expires) return Number.POSITIVE_INFINITY
  const at = new Date(expires as string).getTime()
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at
}
