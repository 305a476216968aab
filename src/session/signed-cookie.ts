// Reads the session id out of a signed session cookie. The format is the one @fastify/session and
// express-session share: `<prefix><id>.<base64 HMAC-SHA256 of id>` (express-session's prefix is
// `s:`). Verification tries each configured secret, so secrets can be rotated without logging
// anybody out; @fastify/cookie's Signer compares in constant time.
import { Signer } from '@fastify/cookie'
import { BoundedMemo } from '../bounded-memo.js'
import { decodeCookieValue } from './cookie-header.js'

export type CookieVerdict =
  | { readonly ok: true; readonly sessionId: string }
  | { readonly ok: false; readonly reason: 'no-cookie' | 'bad-signature' | 'bad-format' }

/** Cookie values that verified, remembered; when full, the oldest goes (see bounded-memo.ts). */
export const VERIFIED_MEMO_SIZE = 10_000

const NO_COOKIE: CookieVerdict = Object.freeze({ ok: false, reason: 'no-cookie' })

export class SessionCookieVerifier {
  #signer: Signer
  readonly #prefix: string
  // A browser sends the same cookie on every request, and an HMAC costs more than the rest of
  // the cookie handling together; so does URI-decoding it, hence the key is the value as sent.
  // Only values that verified are kept, and the memo is emptied whenever the secrets change
  // (setSecrets), so a remembered verdict is exactly what decoding and verifying again would say
  // with the secrets of the moment. Whether a session
  // is still valid is the store's question, asked on every request regardless.
  readonly #verifiedSent = new BoundedMemo<string, CookieVerdict>(VERIFIED_MEMO_SIZE)

  constructor(secrets: readonly string[], prefix: string) {
    this.#signer = new Signer([...secrets], 'sha256')
    this.#prefix = prefix
  }

  /**
   * New secrets (a reload), newest first. One synchronous swap: a request verifies with the old
   * set or the new one, never a mix, and no verdict of the old set is remembered past it.
   */
  setSecrets(secrets: readonly string[]): void {
    if (secrets.length === 0) throw new Error('at least one secret is required')
    this.#signer = new Signer([...secrets], 'sha256')
    this.#verifiedSent.clear()
  }

  /**
   * A signer (sign/unsign, as @fastify/cookie's) that always uses the current secrets: the built-in
   * login signs its cookies with it, so a reload reaches the login too.
   */
  readonly liveSigner = {
    sign: (value: string): string => this.#signer.sign(value),
    unsign: (signed: string) => this.#signer.unsign(signed),
  }

  /** The verdict on a cookie value as the Cookie header carried it, still URI-encoded. */
  verifySent(sent: string | undefined): CookieVerdict {
    if (sent === undefined || sent === '') return NO_COOKIE
    const known = this.#verifiedSent.get(sent)
    if (known !== undefined) return known
    const verdict = this.verify(decodeCookieValue(sent))
    if (verdict.ok) this.#verifiedSent.set(sent, verdict)
    return verdict
  }

  /** The verdict on a decoded cookie value. */
  verify(cookieValue: string | undefined): CookieVerdict {
    if (cookieValue === undefined || cookieValue === '') return NO_COOKIE
    if (!cookieValue.startsWith(this.#prefix)) return { ok: false, reason: 'bad-format' }
    const signed = this.#prefix ? cookieValue.slice(this.#prefix.length) : cookieValue
    if (signed.length > 512 || signed.indexOf('.') < 1) return { ok: false, reason: 'bad-format' }
    const result = this.#signer.unsign(signed)
    if (!result.valid || !result.value) return { ok: false, reason: 'bad-signature' }
    return Object.freeze({ ok: true, sessionId: result.value })
  }

  sign(sessionId: string): string {
    return this.#prefix + this.#signer.sign(sessionId)
  }
}
