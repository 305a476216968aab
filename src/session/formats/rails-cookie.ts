// Rails' encrypted cookies (the CookieStore session, `cookies.encrypted`), read the way
// ActionDispatch reads them since Rails 5.2 (authenticated encryption):
//
//   <base64 ciphertext>--<base64 12-byte IV>--<base64 16-byte GCM tag>      (strict base64)
//
// AES-256-GCM with empty associated data; the key is PBKDF2(secret_key_base, 'authenticated
// encrypted cookie', 1000 iterations, 32 bytes) with HMAC-SHA1 (Rails 5.2 to 6.1) or HMAC-SHA256
// (Rails 7.0 and later, key_generator_hash_digest_class); both are tried by default. The plaintext
// is the metadata envelope Rails writes when use_cookies_with_metadata is on (the default since
// 6.0): {"_rails":{"message":"<base64 of the serialized value>","exp":<ISO 8601 or null>,
// "pur":"cookie.<cookie name>"}}. The purpose must name this cookie, so a value encrypted for
// another cookie is refused, and a message past `exp` is expired.
//
// Rails also accepts a message without purpose (written with use_cookies_with_metadata off);
// that is allowed only with `requirePurpose: false`. Only JSON values are decoded: a Marshal
// payload (the :marshal and :hybrid serializers) or a MessagePack one is refused as
// 'refused-serializer' and never parsed. Devise keeps the user under `warden.user.user.key` as
// [[id], salt]: an ordinary key of the session.
import { createDecipheriv, pbkdf2Sync } from 'node:crypto'
import { base64Bytes, startsWithBytes, utf8Text } from './signed-encoding.js'
import {
  answer,
  type CheckedLimits,
  checkLimits,
  checkNow,
  checkSecrets,
  checkText,
  checkValue,
  decoded,
  fixedRefusal,
  refuse,
  refuseWith,
  type SessionDecoded,
  type SessionDecodeResult,
  SessionFormatConfigError,
  type SessionObject,
  type SessionRefusal,
  type SessionValue,
  type SizeLimits,
} from './signed-result.js'
import { readStrictJson } from './strict-json.js'

const FORMAT = 'rails'

export const RAILS_ENCRYPTED_COOKIE_SALT = 'authenticated encrypted cookie'
export const RAILS_KEY_ITERATIONS = 1000
export type RailsKeyDigest = 'sha1' | 'sha256'

export interface RailsEncryptedCookieOptions extends SizeLimits {
  /** The session cookie's name (the session_store `key:`): the purpose is 'cookie.<name>'. */
  readonly cookieName: string
  /** PBKDF2 digests to derive keys with, in the order tried. Default ['sha256', 'sha1']. */
  readonly keyDigests?: readonly RailsKeyDigest[]
  /** action_dispatch.authenticated_encrypted_cookie_salt. Default 'authenticated encrypted cookie'. */
  readonly salt?: string
  /** Refuse messages without this cookie's purpose. Default true; Rails itself accepts them. */
  readonly requirePurpose?: boolean
}

interface CookieKey {
  readonly key: Buffer
  readonly secretIndex: number
}

const MARSHAL = [0x04, 0x08]
// ActiveSupport::MessagePack's signature (Rails 7.1+ :message_pack serializer).
const MESSAGE_PACK = [0xcc, 0x80]
const IV_BYTES = 12
const TAG_BYTES = 16
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export class RailsEncryptedCookie {
  readonly #keys: readonly CookieKey[]
  readonly #purpose: string
  readonly #requirePurpose: boolean
  readonly #limits: CheckedLimits

  /** `secretKeyBases`: secret_key_base first, then older ones still accepted. */
  constructor(secretKeyBases: readonly string[], options: RailsEncryptedCookieOptions) {
    const secrets = checkSecrets(FORMAT, 'secretKeyBases', secretKeyBases)
    const cookieName = checkText(FORMAT, 'cookieName', options.cookieName)
    if (!COOKIE_NAME.test(cookieName))
      throw new SessionFormatConfigError(FORMAT, 'cookieName', 'is not a cookie name')
    const salt = checkText(FORMAT, 'salt', options.salt ?? RAILS_ENCRYPTED_COOKIE_SALT)
    const digests = options.keyDigests ?? ['sha256', 'sha1']
    if (
      !Array.isArray(digests) ||
      digests.length === 0 ||
      digests.some((d) => d !== 'sha1' && d !== 'sha256')
    )
      throw new SessionFormatConfigError(FORMAT, 'keyDigests', "must list 'sha256' and/or 'sha1'")
    // PBKDF2 with 1000 rounds costs about a millisecond: derived once, here.
    this.#keys = secrets.flatMap((secret, secretIndex) =>
      digests.map((digest) => ({
        key: pbkdf2Sync(secret, salt, RAILS_KEY_ITERATIONS, 32, digest),
        secretIndex,
      })),
    )
    this.#purpose = `cookie.${cookieName}`
    this.#requirePurpose = options.requirePurpose ?? true
    this.#limits = checkLimits(FORMAT, options)
  }

  /** The session in a cookie value (as sent, after URI-decoding), at time `now` (ms). */
  decode(value: string, now: number = Date.now()): SessionDecodeResult {
    checkNow(now)
    return answer(() => {
      const parts = checkValue(value, this.#limits).split('--')
      if (parts.length !== 3) refuse('malformed', 'not ciphertext--iv--tag')
      const [data, iv, tag] = parts.map((part) => base64Bytes(part, 'encrypted part')) as [
        Buffer,
        Buffer,
        Buffer,
      ]
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) refuse('malformed', 'wrong IV or tag length')
      const { plaintext, keyIndex } = this.#decrypt(data, iv, tag)

      refuseForeignSerializer(plaintext)
      const message = readJson(utf8Text(plaintext, 'plaintext'), this.#limits)
      const envelope = envelopeOf(message)
      if (envelope === null) {
        if (this.#requirePurpose) refuse('wrong-purpose', 'message has no purpose')
        return decoded(sessionObject(message), keyIndex, null, null)
      }
      if (envelope.purpose !== this.#purpose && (this.#requirePurpose || envelope.purpose !== ''))
        refuse('wrong-purpose', 'message made for another purpose')
      const expiresAt = envelope.expires === null ? null : iso8601Ms(envelope.expires)
      refuseWith(expiryRefusal(expiresAt, now))

      const serialized = base64Bytes(envelope.message, 'message')
      refuseForeignSerializer(serialized)
      const session = sessionObject(readJson(utf8Text(serialized, 'message'), this.#limits))
      return decoded(session, keyIndex, null, expiresAt)
    })
  }

  /**
   * What decode() would refuse at `now` a value it accepted before: only the envelope's expiry
   * can change that, judged by the very rule decode() applies to the expiry decode() returned.
   */
  timeRefusal(accepted: Pick<SessionDecoded, 'expiresAt'>, now: number): SessionRefusal | null {
    checkNow(now)
    return expiryRefusal(accepted.expiresAt, now)
  }

  #decrypt(data: Buffer, iv: Buffer, tag: Buffer): { plaintext: Buffer; keyIndex: number } {
    if (data.length > this.#limits.maxPayloadBytes) refuse('too-large', 'ciphertext bigger than the limit')
    for (const { key, secretIndex } of this.#keys) {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
      decipher.setAuthTag(tag)
      try {
        return { plaintext: Buffer.concat([decipher.update(data), decipher.final()]), keyIndex: secretIndex }
      } catch {
        // GCM's tag did not verify under this key: try the next one.
      }
    }
    return refuse('bad-signature', 'no secret encrypted it')
  }
}

const PAST_ITS_EXPIRY = fixedRefusal('expired', 'past its expiry')

// A message without an expiry (`exp` null, or no envelope) lives as long as the browser keeps it.
function expiryRefusal(expiresAt: number | null, now: number): SessionRefusal | null {
  return expiresAt !== null && now >= expiresAt ? PAST_ITS_EXPIRY : null
}

// Checked on the bytes before anything reads them: Marshal.load can build any Ruby object.
function refuseForeignSerializer(bytes: Buffer): void {
  if (startsWithBytes(bytes, MARSHAL)) refuse('refused-serializer', 'Marshal payload: never loaded')
  if (startsWithBytes(bytes, MESSAGE_PACK)) refuse('refused-serializer', 'MessagePack payload: not decoded')
}

function readJson(text: string, limits: CheckedLimits): SessionValue {
  // Ruby's JSON parser, as Rails calls it, refuses NaN and Infinity.
  return readStrictJson(text, { allowNonFinite: false, maxDepth: limits.maxDepth })
}

function sessionObject(value: SessionValue): SessionObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    refuse('malformed', 'session is not an object')
  return value as SessionObject
}

interface Envelope {
  readonly message: string
  readonly expires: string | null
  /** '' when the envelope names no purpose (Rails compares purpose.to_s). */
  readonly purpose: string
}

// An object with a `_rails` key is an envelope (Rails 6.1 looks for the key; 7.1 for the
// beginning `{"_rails":{"message":`, which is what Rails writes for cookies).
function envelopeOf(message: SessionValue): Envelope | null {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null
  if (!Object.hasOwn(message, '_rails')) return null
  const rails = (message as SessionObject)._rails
  if (rails === null || typeof rails !== 'object' || Array.isArray(rails)) refuse('malformed', 'bad envelope')
  const fields = rails as SessionObject
  const { message: inner, exp, pur } = fields
  if (typeof inner !== 'string') refuse('malformed', 'envelope has no message')
  if (exp !== undefined && exp !== null && typeof exp !== 'string') refuse('malformed', 'bad expiry')
  if (pur !== undefined && pur !== null && typeof pur !== 'string') refuse('malformed', 'bad purpose')
  return { message: inner, expires: exp ?? null, purpose: pur ?? '' }
}

// What Ruby's Time.iso8601 reads: a date, a time with optional fraction, and Z or an offset.
const ISO8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/

function iso8601Ms(text: string): number {
  const m = ISO8601.exec(text)
  if (!m) refuse('malformed', 'expiry is not ISO 8601')
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[]
  const ms = Number(`0.${m[7] ?? '0'}`) * 1000
  const zone = m[8] as string
  const offsetMinutes =
    zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)))
  const at = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second)
  const check = new Date(at)
  if (
    check.getUTCMonth() !== (month as number) - 1 ||
    check.getUTCDate() !== day ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    (second as number) > 59
  )
    refuse('malformed', 'expiry is not a valid time')
  return at + Math.floor(ms) - offsetMinutes * 60_000
}

/** One-off decoding; for many values build one RailsEncryptedCookie (key derivation is slow). */
export function decodeRailsEncryptedCookie(
  value: string,
  secretKeyBases: readonly string[],
  options: RailsEncryptedCookieOptions & { readonly now?: number },
): SessionDecodeResult {
  return new RailsEncryptedCookie(secretKeyBases, options).decode(value, options.now)
}
