// Links and tokens of the embedded default: in this process only, lost on restart (revocations
// too, which is safe only because the keys of a single-process setup are the operator's to rotate).
// Every operation runs to completion in one turn of the event loop, so counts are exact.
import { type CredentialStore, type LinkAdmission, TOKEN_KEEP_AFTER_EXPIRY_S } from './credential-store.js'
import type { TokenRecord } from './tokens/access-token.js'

export class MemoryCredentialStore implements CredentialStore {
  readonly #revoked = new Map<string, number>()
  readonly #counts = new Map<string, { n: number; until: number }>()
  readonly #tokens = new Map<string, TokenRecord>()
  readonly #now: () => number

  constructor(nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#now = nowSeconds
  }

  async admitLink(id: string, maxDownloads: number | undefined, expiresAt: number): Promise<LinkAdmission> {
    return this.#admit(id, maxDownloads, expiresAt)
  }

  admitLinkByCallback(
    id: string,
    maxDownloads: number | undefined,
    expiresAt: number,
    answer: (admission: LinkAdmission) => void,
  ): void {
    answer(this.#admit(id, maxDownloads, expiresAt))
  }

  async revokeLink(id: string, untilSeconds: number): Promise<void> {
    this.#revoked.set(id, untilSeconds)
  }

  async putToken(record: TokenRecord): Promise<void> {
    this.#tokens.set(record.id, Object.freeze({ ...record }))
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    return this.#token(id)
  }

  getTokenByCallback(id: string, answer: (record: TokenRecord | null) => void): void {
    answer(this.#token(id))
  }

  async revokeToken(id: string): Promise<boolean> {
    const record = this.#tokens.get(id)
    if (record === undefined) return false
    this.#tokens.set(id, Object.freeze({ ...record, revoked: true }))
    return true
  }

  async close(): Promise<void> {
    this.#revoked.clear()
    this.#counts.clear()
    this.#tokens.clear()
  }

  #admit(id: string, maxDownloads: number | undefined, expiresAt: number): LinkAdmission {
    const now = this.#now()
    this.#sweep(now)
    const revokedUntil = this.#revoked.get(id)
    if (revokedUntil !== undefined && revokedUntil > now) return 'revoked'
    if (maxDownloads === undefined) return 'ok'
    const count = this.#counts.get(id) ?? { n: 0, until: expiresAt }
    count.n++
    this.#counts.set(id, count)
    return count.n > maxDownloads ? 'used-up' : 'ok'
  }

  #token(id: string): TokenRecord | null {
    const record = this.#tokens.get(id)
    if (record === undefined) return null
    if (record.expiresAt + TOKEN_KEEP_AFTER_EXPIRY_S <= this.#now()) {
      this.#tokens.delete(id)
      return null
    }
    return record
  }

  // Cheap enough per link download: only entries past their expiry go.
  #sweep(now: number): void {
    if (this.#revoked.size + this.#counts.size < 1024) return
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id)
    for (const [id, c] of this.#counts) if (c.until <= now) this.#counts.delete(id)
  }
}
