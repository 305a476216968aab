// Django's signed values (django.core.signing.loads), and the two places sessions use them:
// the `signed_cookies` backend's cookie, and the `session_data` that the db and cached_db backends
// keep in django_session (SessionBase.encode; the cache keeps the dict itself, pickled). Read the way Django 3.1 and later read them:
//
//   <payload>:<timestamp>:<signature>   payload: base64url JSON, or '.' + base64url zlib(JSON)
//                                       timestamp: base62 seconds (0-9A-Za-z)
//                                       signature: base64url salted_hmac(salt + 'signer',
//                                                  '<payload>:<timestamp>', secret, SHA-256)
//
// salted_hmac's key is hash(key_salt + secret), the HMAC uses the same hash. Secrets are
// SECRET_KEY then SECRET_KEY_FALLBACKS (Django 4.1+), newest first. Like Django, a value older
// than the max age is refused and one signed in the future is not.
//
// Django 3.1 and 3.2 (Debian 12 ships 3.2) also accept SHA-1 signatures, and with the transitional
// DEFAULT_HASHING_ALGORITHM = 'sha1' they write them, and session_data in the pre-3.1 format:
// base64('<hex salted_hmac SHA-1>:<JSON>'). Both are read only with `legacySha1: true`; Django 4.0
// dropped them.
//
// Django's JSON serializer reads the bytes as latin-1 (it writes ASCII-only JSON). A payload that
// starts like a pickle (the PickleSerializer Django 3.2 still offers) is refused, never unpickled.
import { createHash, createHmac } from 'node:crypto'
import {
  base64Bytes,
  base64UrlBytes,
  inflateBounded,
  sameSignature,
  startsWithBytes,
} from './signed-encoding.js'
import {
  answer,
  type CheckedLimits,
  checkLimits,
  checkNow,
  checkSeconds,
  checkSecrets,
  checkText,
  checkValue,
  DEFAULT_LIMITS,
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

const FORMAT = 'django'

/** The salt of the signed_cookies session backend. */
export const DJANGO_SIGNED_COOKIES_SALT = 'django.contrib.sessions.backends.signed_cookies'
/** Django's default SESSION_COOKIE_AGE: two weeks. */
export const DJANGO_DEFAULT_SESSION_COOKIE_AGE = 14 * 24 * 3600
/** The class Django's own db, cache and cached_db backends name their SessionStore. */
export const DJANGO_SESSION_STORE_CLASS = 'SessionStore'

type Algorithm = 'sha256' | 'sha1'
// base64url length of each HMAC, to skip the algorithm a signature cannot be.
const SIGNATURE_LENGTH: Readonly<Record<Algorithm, number>> = { sha256: 43, sha1: 27 }
const SIGNED_CHARS = /^[A-Za-z0-9_.:-]+$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
// Eight base62 digits reach past the year 6 million and stay below 2^53.
const TIMESTAMP = /^-?[0-9A-Za-z]{1,8}$/
// Protocol 2 and later pickles start with the PROTO opcode; Django's PickleSerializer uses the
// highest protocol.
const PICKLE_PROTO = [0x80]
const TOO_OLD = fixedRefusal('expired', 'older than the max age')

export interface DjangoSigningOptions extends SizeLimits {
  /** The salt given to signing.loads (for sessions: see the two classes below). */
  readonly salt: string
  /** signing.loads' max_age in seconds; null or absent: no limit (Django's default). */
  readonly maxAgeSeconds?: number | null
  /** Also accept SHA-1 signatures, as Django 3.1 and 3.2 do. Default false. */
  readonly legacySha1?: boolean
}

interface SigningKey {
  readonly algorithm: Algorithm
  readonly key: Buffer
  readonly secretIndex: number
}

/** django.core.signing.loads with a TimestampSigner and the JSON serializer. */
export class DjangoSigning {
  readonly #keys: readonly SigningKey[]
  readonly #maxAgeSeconds: number | null
  readonly #limits: CheckedLimits

  constructor(secrets: readonly string[], options: DjangoSigningOptions, defaults = DEFAULT_LIMITS) {
    const checked = checkSecrets(FORMAT, 'secrets', secrets)
    const salt = checkText(FORMAT, 'salt', options.salt)
    const algorithms: readonly Algorithm[] = options.legacySha1 === true ? ['sha256', 'sha1'] : ['sha256']
    this.#keys = checked.flatMap((secret, secretIndex) =>
      algorithms.map((algorithm) => ({
        algorithm,
        // salted_hmac: the key is hash(key_salt + secret), with key_salt = salt + 'signer'.
        key: createHash(algorithm).update(`${salt}signer`).update(secret).digest(),
        secretIndex,
      })),
    )
    const maxAge = options.maxAgeSeconds ?? null
    this.#maxAgeSeconds = maxAge === null ? null : checkSeconds(FORMAT, 'maxAgeSeconds', maxAge)
    this.#limits = checkLimits(FORMAT, options, defaults)
  }

  /** The object a signed value holds, at time `now` (ms). */
  decode(value: string, now: number = Date.now()): SessionDecodeResult {
    checkNow(now)
    return answer(() => {
      const signed = checkValue(value, this.#limits)
      if (!SIGNED_CHARS.test(signed)) refuse('malformed', 'character outside the signed format')
      const sigColon = signed.lastIndexOf(':')
      if (sigColon < 0) refuse('malformed', 'no signature')
      const signedPart = signed.slice(0, sigColon)
      const keyIndex = this.#verify(signedPart, signed.slice(sigColon + 1))

      const tsColon = signedPart.lastIndexOf(':')
      if (tsColon < 0) refuse('malformed', 'no timestamp')
      const signedAtMs = base62Seconds(signedPart.slice(tsColon + 1)) * 1000
      refuseWith(this.#ageRefusal(signedAtMs, now))
      const expiresAt = this.#maxAgeSeconds === null ? null : signedAtMs + this.#maxAgeSeconds * 1000
      const session = jsonObject(payloadBytes(signedPart.slice(0, tsColon), this.#limits), this.#limits)
      return decoded(session, keyIndex, signedAtMs, expiresAt)
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

  // Django compares the float time.time() - timestamp with max_age, and accepts a value signed in
  // the future. Eight base62 digits times 1000 may pass 2^53: such a time is millennia away from
  // now, where a rounded millisecond cannot change the answer.
  #ageRefusal(signedAtMs: number, now: number): SessionRefusal | null {
    if (this.#maxAgeSeconds === null) return null
    return now / 1000 - signedAtMs / 1000 <= this.#maxAgeSeconds ? null : TOO_OLD
  }

  #verify(signedPart: string, signature: string): number {
    for (const { algorithm, key, secretIndex } of this.#keys) {
      if (signature.length !== SIGNATURE_LENGTH[algorithm]) continue
      const expected = createHmac(algorithm, key).update(signedPart).digest('base64url')
      if (sameSignature(signature, expected)) return secretIndex
    }
    return refuse('bad-signature', 'no secret signed it')
  }
}

function base62Seconds(encoded: string): number {
  if (!TIMESTAMP.test(encoded)) refuse('malformed', 'timestamp is not base62')
  const negative = encoded.startsWith('-')
  let seconds = 0
  for (const digit of negative ? encoded.slice(1) : encoded) seconds = seconds * 62 + BASE62.indexOf(digit)
  return negative ? -seconds : seconds
}

function payloadBytes(encoded: string, limits: CheckedLimits): Buffer {
  const compressed = encoded.startsWith('.')
  const raw = base64UrlBytes(compressed ? encoded.slice(1) : encoded, 'payload')
  if (raw.length > limits.maxPayloadBytes) refuse('too-large', 'payload bigger than the limit')
  return compressed ? inflateBounded(raw, limits.maxPayloadBytes) : raw
}

function jsonObject(bytes: Buffer, limits: CheckedLimits): SessionObject {
  if (startsWithBytes(bytes, PICKLE_PROTO)) refuse('refused-serializer', 'pickled payload: never unpickled')
  const data = readStrictJson(bytes.toString('latin1'), { allowNonFinite: true, maxDepth: limits.maxDepth })
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    refuse('malformed', 'payload is not an object')
  return data as SessionObject
}

export interface DjangoSignedCookieOptions extends SizeLimits {
  /** SESSION_COOKIE_AGE in seconds. Default two weeks, Django's default. */
  readonly maxAgeSeconds?: number
  readonly legacySha1?: boolean
}

/**
 * The `sessionid` cookie of the signed_cookies backend: signing.loads with its salt and
 * SESSION_COOKIE_AGE as max age. Like Django, `_session_expiry` (set_expiry) is not consulted.
 */
export class DjangoSignedCookieSession {
  readonly #signing: DjangoSigning

  constructor(secrets: readonly string[], options: DjangoSignedCookieOptions = {}) {
    this.#signing = new DjangoSigning(secrets, {
      ...options,
      salt: DJANGO_SIGNED_COOKIES_SALT,
      maxAgeSeconds: options.maxAgeSeconds ?? DJANGO_DEFAULT_SESSION_COOKIE_AGE,
    })
  }

  decode(value: string, now: number = Date.now()): SessionDecodeResult {
    return this.#signing.decode(value, now)
  }

  /** What decode() would refuse at `now` a value it accepted before (SESSION_COOKIE_AGE only). */
  timeRefusal(accepted: Pick<SessionDecoded, 'signedAt'>, now: number): SessionRefusal | null {
    return this.#signing.timeRefusal(accepted, now)
  }
}

export interface DjangoSessionDataOptions extends SizeLimits {
  /**
   * The __qualname__ of the app's SessionStore class: it is part of the salt. Default
   * 'SessionStore', what Django's db, cache and cached_db backends use.
   */
  readonly sessionStoreClass?: string
  /** Also accept SHA-1 signatures and the pre-3.1 session_data format. Default false. */
  readonly legacySha1?: boolean
}

/** Stored session data is not bounded by a cookie's size: 1 MiB by default. */
export const DJANGO_SESSION_DATA_LIMITS = Object.freeze({
  maxValueLength: 1024 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxDepth: DEFAULT_LIMITS.maxDepth,
})

/**
 * `session_data` as the db and cached_db backends store it in django_session (SessionBase.decode):
 * signed with the salt 'django.contrib.sessions.<SessionStore class>' and no max age; the row's
 * expire_date says how long it lives.
 */
export class DjangoSessionData {
  readonly #signing: DjangoSigning
  readonly #legacyKeys: readonly Buffer[] | null
  readonly #limits: CheckedLimits

  constructor(secrets: readonly string[], options: DjangoSessionDataOptions = {}) {
    const storeClass = checkText(
      FORMAT,
      'sessionStoreClass',
      options.sessionStoreClass ?? DJANGO_SESSION_STORE_CLASS,
    )
    this.#signing = new DjangoSigning(
      secrets,
      { ...options, salt: `django.contrib.sessions.${storeClass}`, maxAgeSeconds: null },
      DJANGO_SESSION_DATA_LIMITS,
    )
    this.#limits = checkLimits(FORMAT, options, DJANGO_SESSION_DATA_LIMITS)
    // SessionBase._hash: salted_hmac('django.contrib.sessions' + class name, ..., SHA-1).
    const legacySalt = `django.contrib.sessions${storeClass.split('.').pop()}`
    this.#legacyKeys =
      options.legacySha1 === true
        ? checkSecrets(FORMAT, 'secrets', secrets).map((secret) =>
            createHash('sha1').update(legacySalt).update(secret).digest(),
          )
        : null
  }

  decode(value: string, now: number = Date.now()): SessionDecodeResult {
    const result = this.#signing.decode(value, now)
    if (result.ok || this.#legacyKeys === null) return result
    if (result.reason !== 'malformed' && result.reason !== 'bad-signature') return result
    // Django 3.2 falls back to the old format whenever the signed one does not verify.
    const legacy = this.#decodeLegacy(value, this.#legacyKeys)
    return legacy.ok || result.reason === 'malformed' ? legacy : result
  }

  #decodeLegacy(value: string, keys: readonly Buffer[]): SessionDecodeResult {
    return answer(() => {
      const bytes = base64Bytes(checkValue(value, this.#limits), 'legacy session data')
      const colon = bytes.indexOf(0x3a)
      if (colon < 0) refuse('malformed', 'legacy session data has no hash')
      const hash = bytes.subarray(0, colon).toString('latin1')
      const serialized = bytes.subarray(colon + 1)
      const keyIndex = keys.findIndex((key) =>
        sameSignature(hash, createHmac('sha1', key).update(serialized).digest('hex')),
      )
      if (keyIndex < 0) refuse('bad-signature', 'no secret signed it')
      if (serialized.length > this.#limits.maxPayloadBytes)
        refuse('too-large', 'payload bigger than the limit')
      return decoded(jsonObject(serialized, this.#limits), keyIndex, null, null)
    })
  }
}

/** One-off signing.loads; for many values build one DjangoSigning. */
export function decodeDjangoSigned(
  value: string,
  secrets: readonly string[],
  options: DjangoSigningOptions & { readonly now?: number },
): SessionDecodeResult {
  return new DjangoSigning(secrets, options).decode(value, options.now)
}

/** One-off reading of a signed_cookies `sessionid` cookie. */
export function decodeDjangoSignedCookie(
  value: string,
  secrets: readonly string[],
  options: DjangoSignedCookieOptions & { readonly now?: number } = {},
): SessionDecodeResult {
  return new DjangoSignedCookieSession(secrets, options).decode(value, options.now)
}

/** One-off reading of a stored session_data. */
export function decodeDjangoSessionData(
  value: string,
  secrets: readonly string[],
  options: DjangoSessionDataOptions & { readonly now?: number } = {},
): SessionDecodeResult {
  return new DjangoSessionData(secrets, options).decode(value, options.now)
}
