// Flask's default session cookie (SecureCookieSessionInterface), read the way Flask reads it:
// itsdangerous' URLSafeTimedSerializer with salt 'cookie-session', the signing key derived as
// HMAC-SHA1(secret, salt), an HMAC-SHA1 signature, and the max age of PERMANENT_SESSION_LIFETIME.
//
//   <payload>.<timestamp>.<signature>     payload: base64url JSON, or '.' + base64url zlib(JSON)
//                                         timestamp: base64url big-endian seconds, no zero bytes
//                                         signature: base64url HMAC of '<payload>.<timestamp>'
//
// Secrets are SECRET_KEY then SECRET_KEY_FALLBACKS (Flask 3.1+), newest first; any of them
// verifies. Like itsdangerous, an age above the max age or below zero (signed in the future) is
// refused. The JSON is Flask's tagged JSON (see flask-tagged-json.ts). flask-login keeps the user
// id under `_user_id`: an ordinary key of the session.
import { createHmac } from 'node:crypto'
import { reviveFlaskTags } from './flask-tagged-json.js'
import { base64UrlBytes, inflateBounded, sameSignature, utf8Text } from './signed-encoding.js'
import {
  answer,
  type CheckedLimits,
  checkLimits,
  checkNow,
  checkSeconds,
  checkSecrets,
  checkText,
  checkValue,
  decoded,
  fixedRefusal,
  refuse,
  refuseWith,
  type SessionDecoded,
  type SessionDecodeResult,
  type SessionObject,
  type SessionRefusal,
  type SizeLimits,
} from './signed-result.js'
import { readStrictJson } from './strict-json.js'

const FORMAT = 'flask'

/** Flask's default PERMANENT_SESSION_LIFETIME: 31 days. */
export const FLASK_DEFAULT_MAX_AGE_SECONDS = 31 * 24 * 3600
export const FLASK_SESSION_SALT = 'cookie-session'

export interface FlaskSessionCookieOptions extends SizeLimits {
  /** PERMANENT_SESSION_LIFETIME in seconds; Flask checks it even for non-permanent sessions. */
  readonly maxAgeSeconds?: number
  /** SecureCookieSessionInterface.salt, for apps that changed it. Default 'cookie-session'. */
  readonly salt?: string
}

const COOKIE_CHARS = /^[A-Za-z0-9_.-]+$/
const TOO_OLD = fixedRefusal('expired', 'older than the max age')
const SIGNED_IN_THE_FUTURE = fixedRefusal('expired', 'signed in the future')
// HMAC-SHA1 is 20 bytes: 27 base64url characters.
const SIGNATURE_LENGTH = 27

export class FlaskSessionCookie {
  readonly #keys: readonly Buffer[]
  readonly #maxAgeSeconds: number
  readonly #limits: CheckedLimits

  /** `secrets`: SECRET_KEY first, then SECRET_KEY_FALLBACKS. Throws SessionFormatConfigError. */
  constructor(secrets: readonly string[], options: FlaskSessionCookieOptions = {}) {
    const checked = checkSecrets(FORMAT, 'secrets', secrets)
    const salt = checkText(FORMAT, 'salt', options.salt ?? FLASK_SESSION_SALT)
    // itsdangerous' 'hmac' key derivation: the signing key is HMAC(secret, salt).
    this.#keys = checked.map((secret) => createHmac('sha1', secret).update(salt).digest())
    // Flask takes int(PERMANENT_SESSION_LIFETIME.total_seconds()).
    this.#maxAgeSeconds = Math.floor(
      checkSeconds(FORMAT, 'maxAgeSeconds', options.maxAgeSeconds ?? FLASK_DEFAULT_MAX_AGE_SECONDS),
    )
    this.#limits = checkLimits(FORMAT, options)
  }

  /** The session in a cookie value (as sent, after URI-decoding), at time `now` (ms). */
  decode(value: string, now: number = Date.now()): SessionDecodeResult {
    checkNow(now)
    return answer(() => {
      const cookie = checkValue(value, this.#limits)
      if (!COOKIE_CHARS.test(cookie)) refuse('malformed', 'character outside the signed format')
      const sigDot = cookie.lastIndexOf('.')
      if (sigDot < 1) refuse('malformed', 'no signature')
      const signedPart = cookie.slice(0, sigDot)
      const keyIndex = this.#verify(signedPart, cookie.slice(sigDot + 1))

      const tsDot = signedPart.lastIndexOf('.')
      if (tsDot < 0) refuse('malformed', 'no timestamp')
      const signedAtMs = Number(timestampSeconds(signedPart.slice(tsDot + 1))) * 1000
      refuseWith(this.#ageRefusal(signedAtMs, now))

      const session = this.#payload(signedPart.slice(0, tsDot))
      return decoded(session, keyIndex, signedAtMs, signedAtMs + this.#maxAgeSeconds * 1000)
    })
  }

  /**
   * What decode() would refuse at `now` a value it accepted before: only its age can change, and
   * it is judged by the very rule decode() applies, on the very number decode() returned.
   */
  timeRefusal(accepted: Pick<SessionDecoded, 'signedAt'>, now: number): SessionRefusal | null {
    checkNow(now)
    return this.#ageRefusal(accepted.signedAt ?? Number.NaN, now)
  }

  // itsdangerous compares whole seconds: int(time.time()) - timestamp. A timestamp too large for
  // a double's exact integers is far in the future, and refused as such either way.
  #ageRefusal(signedAtMs: number, now: number): SessionRefusal | null {
    const age = Math.floor(now / 1000) - signedAtMs / 1000
    if (age > this.#maxAgeSeconds) return TOO_OLD
    if (!(age >= 0)) return SIGNED_IN_THE_FUTURE
    return null
  }

  #verify(signedPart: string, signature: string): number {
    if (signature.length === SIGNATURE_LENGTH) {
      for (const [index, key] of this.#keys.entries()) {
        const expected = createHmac('sha1', key).update(signedPart).digest('base64url')
        if (sameSignature(signature, expected)) return index
      }
    }
    return refuse('bad-signature', 'no secret signed it')
  }

  #payload(encoded: string): SessionObject {
    const compressed = encoded.startsWith('.')
    const raw = base64UrlBytes(compressed ? encoded.slice(1) : encoded, 'payload')
    if (raw.length > this.#limits.maxPayloadBytes) refuse('too-large', 'payload bigger than the limit')
    const json = utf8Text(compressed ? inflateBounded(raw, this.#limits.maxPayloadBytes) : raw, 'payload')
    const data = readStrictJson(json, {
      allowNonFinite: true,
      maxDepth: this.#limits.maxDepth,
      reviveObject: reviveFlaskTags,
    })
    // A tagged top level (`{" b": ...}` is bytes, `{" d": ...}` a date) is an object in JSON but
    // not a session: only a plain object (read with a null prototype) is one, as only a dict is
    // one to Flask.
    if (data === null || typeof data !== 'object' || Object.getPrototypeOf(data) !== null)
      refuse('malformed', 'payload is not an object')
    return data as SessionObject
  }
}

/** itsdangerous' timestamp: big-endian seconds, leading zero bytes dropped, at most 8 bytes. */
function timestampSeconds(encoded: string): bigint {
  const bytes = base64UrlBytes(encoded, 'timestamp')
  if (bytes.length > 8) refuse('malformed', 'timestamp longer than 8 bytes')
  let seconds = 0n
  for (const byte of bytes) seconds = (seconds << 8n) | BigInt(byte)
  return seconds
}

/** One-off decoding; for many values build one FlaskSessionCookie (it derives the keys once). */
export function decodeFlaskSessionCookie(
  value: string,
  secrets: readonly string[],
  options: FlaskSessionCookieOptions & { readonly now?: number } = {},
): SessionDecodeResult {
  return new FlaskSessionCookie(secrets, options).decode(value, options.now)
}
