// The embedded store for the default start: sessions live in this process only, so a restart logs
// everybody out and several gateways cannot share them. Values are kept as JSON text, exactly as
// Redis would hold them, so both stores behave alike.
import type { SessionData, SessionStore } from './session-store.js'

export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, { json: string; expiresAt: number }>()
  readonly #sweeper: NodeJS.Timeout

  constructor(sweepIntervalMs = 60_000) {
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs)
    this.#sweeper.unref()
  }

  async get(sessionId: string): Promise<SessionData | null> {
    const entry = this.#entries.get(sessionId)
    if (!entry) return null
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(sessionId)
      return null
    }
    return JSON.parse(entry.json) as SessionData
  }

  async set(sessionId: string, data: SessionData, ttlSeconds: number): Promise<void> {
    this.#entries.set(sessionId, { json: JSON.stringify(data), expiresAt: Date.now() + ttlSeconds * 1000 })
  }

  async destroy(sessionId: string): Promise<void> {
    this.#entries.delete(sessionId)
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    this.#entries.clear()
  }

  #sweep(): void {
    const now = Date.now()
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id)
  }
}
