// What the signed and encrypted cookie decoders (Flask, Django, Rails) answer: the session as
// deep-frozen data, or a refusal whose reason is one of a few stable words, so the decision line
// can say why a session was not accepted without the caller knowing the framework's format.
// Decoders never throw on bad input; they throw SessionFormatConfigError only when constructed
// with a bad config (a start-up error), and TypeError for a `now` that is not a time (a bug).
import type { ByteString } from './byte-string.js'
import type { PyDateTime } from './python-datetime.js'

/**
 * A decoded session value, deep-frozen, in the same types the PHP and pickle decoders use: an
 * integer beyond ±2^53 is a bigint (exact, never rounded), Python bytes a ByteString, a Python
 * datetime a PyDateTime; objects have no prototype, so no key (`__proto__` included) is special.
 */
export type SessionValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | ByteString
  | PyDateTime
  | readonly SessionValue[]
  | SessionObject
export interface SessionObject {
  readonly [key: string]: SessionValue
}

/**
 * Why a session value was refused:
 * - `malformed`: not the framework's format at all (wrong separators, bad base64, bad JSON...).
 * - `bad-signature`: the format is right but no configured secret signed (or encrypted) it.
 * - `expired`: authentic, but older than the max age or past its own expiry.
 * - `refused-serializer`: authentic, but written by a serializer we never decode (Ruby Marshal,
 *   MessagePack, Python pickle).
 * - `too-large`: longer, or bigger once decompressed, than the configured limits.
 * - `too-deep`: arrays and objects nested deeper than the configured limit.
 * - `wrong-purpose`: an authentic Rails message made for another cookie (or for none).
 */
export type SessionRefusalReason =
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'refused-serializer'
  | 'too-large'
  | 'too-deep'
  | 'wrong-purpose'

export const SESSION_REFUSAL_REASONS: readonly SessionRefusalReason[] = Object.freeze([
  'malformed',
  'bad-signature',
  'expired',
  'refused-serializer',
  'too-large',
  'too-deep',
  'wrong-purpose',
])

export interface SessionDecoded {
  readonly ok: true
  readonly session: SessionObject
  /** Which secret of the list verified it (0: the newest); more than 0 means a rotated-out key. */
  readonly keyIndex: number
  /** When it was signed (ms since the epoch), where the format records it. */
  readonly signedAt: number | null
  /** When it stops being accepted (ms since the epoch), where the format or config says. */
  readonly expiresAt: number | null
}

export interface SessionRefusal {
  readonly ok: false
  readonly reason: SessionRefusalReason
  /** A short fixed text for logs: never a secret, never the session's content. */
  readonly detail: string
}

export type SessionDecodeResult = SessionDecoded | SessionRefusal

/** A decoder was configured wrongly (no secret, a negative max age...): a start-up error. */
export class SessionFormatConfigError extends Error {
  constructor(
    readonly format: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${format} session format: ${field} ${problem}`)
    this.name = 'SessionFormatConfigError'
  }
}

/** Thrown inside a decoder and turned into a SessionRefusal at its edge; never escapes one. */
export class RefusalSignal extends Error {
  constructor(
    readonly reason: SessionRefusalReason,
    readonly detail: string,
  ) {
    super(detail)
  }
}

export function refuse(reason: SessionRefusalReason, detail: string): never {
  throw new RefusalSignal(reason, detail)
}

export function refusal(signal: RefusalSignal): SessionRefusal {
  return Object.freeze({ ok: false, reason: signal.reason, detail: signal.detail })
}

export function decoded(
  session: SessionObject,
  keyIndex: number,
  signedAt: number | null,
  expiresAt: number | null,
): SessionDecoded {
  return Object.freeze({ ok: true, session, keyIndex, signedAt, expiresAt })
}

/** Runs a decoder body, turning its refusal signal into a refusal result. */
export function answer(decode: () => SessionDecodeResult): SessionDecodeResult {
  try {
    return decode()
  } catch (err) {
    if (err instanceof RefusalSignal) return refusal(err)
    throw err
  }
}

/** A refusal fixed in advance (a time rule's answer): frozen, shared by every request. */
export function fixedRefusal(reason: SessionRefusalReason, detail: string): SessionRefusal {
  return Object.freeze({ ok: false, reason, detail })
}

/** Inside a decoder: stops it with `found`, when a rule found a refusal. */
export function refuseWith(found: SessionRefusal | null): void {
  if (found !== null) refuse(found.reason, found.detail)
}

/** Limits every decoder takes; the defaults fit a cookie (browsers keep at most 4 KiB of one). */
export interface SizeLimits {
  /** Longest value accepted, in characters, checked before any work. Default 8192. */
  readonly maxValueLength?: number
  /** Largest payload once base64-decoded and decompressed, in bytes. Default 256 KiB. */
  readonly maxPayloadBytes?: number
  /** Deepest nesting of arrays and objects in the payload. Default 64. */
  readonly maxDepth?: number
}

export interface CheckedLimits {
  readonly maxValueLength: number
  readonly maxPayloadBytes: number
  readonly maxDepth: number
}

export const DEFAULT_LIMITS: CheckedLimits = Object.freeze({
  maxValueLength: 8192,
  maxPayloadBytes: 256 * 1024,
  maxDepth: 64,
})

export function checkLimits(format: string, limits: SizeLimits, defaults = DEFAULT_LIMITS): CheckedLimits {
  const pick = (field: keyof CheckedLimits): number => {
    const value = limits[field] ?? defaults[field]
    if (!Number.isSafeInteger(value) || value < 1)
      throw new SessionFormatConfigError(format, field, 'must be a whole number of at least 1')
    return value
  }
  return Object.freeze({
    maxValueLength: pick('maxValueLength'),
    maxPayloadBytes: pick('maxPayloadBytes'),
    maxDepth: pick('maxDepth'),
  })
}

export function checkSecrets(format: string, field: string, secrets: readonly string[]): readonly string[] {
  if (!Array.isArray(secrets) || secrets.length === 0)
    throw new SessionFormatConfigError(format, field, 'must list at least one secret, newest first')
  secrets.forEach((secret, i) => {
    if (typeof secret !== 'string' || secret.length === 0)
      throw new SessionFormatConfigError(format, `${field}[${i}]`, 'must be a non-empty string')
  })
  return Object.freeze([...secrets])
}

export function checkSeconds(format: string, field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new SessionFormatConfigError(format, field, 'must be a number of seconds, 0 or more')
  return value
}

export function checkText(format: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new SessionFormatConfigError(format, field, 'must be a non-empty string')
  return value
}

/** The caller's clock reading; a bad one is the caller's bug, not the cookie's fault. */
export function checkNow(now: number): number {
  if (!Number.isFinite(now)) throw new TypeError('now must be a time in ms since the epoch')
  return now
}

/** The value a decoder was handed, refused early when it is not a string or is too long. */
export function checkValue(value: unknown, limits: CheckedLimits): string {
  if (typeof value !== 'string' || value.length === 0) refuse('malformed', 'empty value')
  if (value.length > limits.maxValueLength) refuse('too-large', 'value longer than the limit')
  return value
}
