// Reads the session id out of a signed session cookie. The format is the one @fastify/session and
// express-session share: `<prefix><id>.<base64 HMAC-SHA256 of id>` (express-session's prefix is
// `s:`). Verification tries each configured secret, so secrets can be rotated without logging
// anybody out; @fastify/cookie's Signer compares in constant time.
import { Signer } from '@fastify/cookie'

export type CookieVerdict =
  | { readonly ok: true; readonly sessionId: string }
  | { readonly ok: false; readonly reason: 'no-cookie' | 'bad-signature' | 'bad-format' }

export class SessionCookieVerifier {
  readonly #signer: Signer
  readonly #prefix: string

  constructor(secrets: readonly string[], prefix: string) {
    this.#signer = new Signer([...secrets], 'sha256')
    this.#prefix = prefix
  }

  verify(cookieValue: string | undefined): CookieVerdict {
    if (cookieValue === undefined || cookieValue === '') return { ok: false, reason: 'no-cookie' }
    if (!cookieValue.startsWith(this.#prefix)) return { ok: false, reason: 'bad-format' }
    const signed = this.#prefix ? cookieValue.slice(this.#prefix.length) : cookieValue
    if (signed.length > 512 || signed.indexOf('.') < 1) return { ok: false, reason: 'bad-format' }
    const result = this.#signer.unsign(signed)
    if (!result.valid || !result.value) return { ok: false, reason: 'bad-signature' }
    return { ok: true, sessionId: result.value }
  }

  sign(sessionId: string): string {
    return this.#prefix + this.#signer.sign(sessionId)
  }
}
