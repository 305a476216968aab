// Stored session JSON, decoded once per distinct text. Without the client cache every download
// reads its session from Redis, and nearly always the same text as the last time: decoding it
// again (JSON.parse, then who the session belongs to and when it expires) was about a twentieth of
// the gateway's CPU per download. The answer depends on the text alone, so keying on the whole
// text can never hand out a stale session: a session changed in Redis is a different text, a
// deleted one is no text at all, and the expiry is still compared with the clock per download.
// The decoded sessions are frozen, which lets resolve-identity.ts remember who each belongs to.
import { BoundedMemo } from '../bounded-memo.js'
import { deepFreeze } from '../deep-freeze.js'
import type { SessionData } from './session-store.js'

/** Longer texts are decoded every time: the memory kept stays small whatever sessions hold. */
const MAX_TEXT_LENGTH = 4096

export class DecodedSessions {
  // The oldest text goes first: sessions in use come back within seconds and are decoded again.
  readonly #byText: BoundedMemo<string, SessionData>

  constructor(maxEntries: number) {
    this.#byText = new BoundedMemo(maxEntries)
  }

  /** The stored JSON as a frozen session; null when there is none, or none we can read. */
  decode(json: string | null): SessionData | null {
    if (json === null) return null
    const known = this.#byText.get(json)
    if (known !== undefined) return known
    const data = sessionFromJson(json)
    if (data === null || json.length > MAX_TEXT_LENGTH) return data
    this.#byText.set(json, deepFreeze(data))
    return data
  }

  get size(): number {
    return this.#byText.size
  }
}

/** The stored JSON as a session; null when there is none, or none we can read. */
export function sessionFromJson(json: string | null): SessionData | null {
  if (json === null) return null
  try {
    const parsed = JSON.parse(json) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null
    return parsed as SessionData
  } catch {
    return null // not a session we can read: treated as no session
  }
}
