// What every session-format decoder answers: a deep-frozen value, or a refusal with a stable reason
// the decision line can carry. A refusal is a value, not an exception: hostile or broken session
// data is an expected input on the download path, and the caller must always get an answer.

/** Bounds on the work one decode may do, so hostile input cannot hang the process or fill memory. */
export interface DecodeLimits {
  /** Input longer than this is refused before it is read. */
  readonly maxBytes: number
  /** Containers (arrays, dicts, objects) nested deeper than this are refused. */
  readonly maxDepth: number
  /**
   * Values in the result, counted as if every shared reference were a copy: a reference repeated
   * in a loop must not make a small input into a huge tree for whoever walks it.
   */
  readonly maxElements: number
}

// Sessions are small (a user id, some flags, a CSRF token); these leave room for fat ones.
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 64,
  maxElements: 100_000,
})

export type DecodeResult<Value, Reason extends string> =
  | { readonly ok: true; readonly value: Value }
  | {
      readonly ok: false
      readonly reason: Reason
      /** Byte offset in the input where decoding stopped. */
      readonly offset: number
      /** Safe to log: our own words, and at most a sanitized class or global name, never a value. */
      readonly detail: string
    }

/** Reasons both decoders may give. */
export const COMMON_REFUSAL_REASONS = Object.freeze([
  'truncated', // the input ends inside a value
  'bad-syntax', // not the format: a wrong token, number or length, or bytes after the end
  'too-deep',
  'too-large',
  'bad-reference', // a back-reference to nothing, or one the format does not allow there
  'unsupported', // well-formed, but outside the values we hand out (e.g. a Python set)
] as const)
export type CommonRefusalReason = (typeof COMMON_REFUSAL_REASONS)[number]

/** Thrown inside a decoder and turned into a refusal at its entry point; never escapes it. */
export class FormatRefusal<Reason extends string = string> extends Error {
  constructor(
    readonly reason: Reason,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${reason} at byte ${offset}: ${detail}`)
    this.name = 'FormatRefusal'
  }
}

export function resolveLimits(options: Partial<DecodeLimits> | undefined): DecodeLimits {
  return options === undefined ? DEFAULT_DECODE_LIMITS : { ...DEFAULT_DECODE_LIMITS, ...options }
}

/**
 * Runs a decoder and turns its FormatRefusal into a result. A RangeError from the engine (stack
 * overflow, allocation failure) becomes 'too-large' so that no input can crash the caller; any
 * other error is a bug of ours and is rethrown.
 */
export function runDecoder<Value, Reason extends string>(
  decode: () => Value,
): DecodeResult<Value, Reason | 'too-large'> {
  try {
    return Object.freeze({ ok: true, value: decode() })
  } catch (err) {
    if (err instanceof FormatRefusal) {
      return Object.freeze({
        ok: false,
        reason: err.reason as Reason,
        offset: err.offset,
        detail: err.detail,
      })
    }
    if (err instanceof RangeError) {
      return Object.freeze({
        ok: false,
        reason: 'too-large',
        offset: 0,
        detail: 'the engine ran out of room',
      })
    }
    throw err
  }
}

/** A class, global or property name fit for a log line: printable ASCII only, cut short. */
export function loggableName(name: string): string {
  const cleaned = name.replace(/[^\x21-\x7e]/g, '?')
  return cleaned.length > 80 ? `${cleaned.slice(0, 80)}...` : cleaned
}

/** Keeps a running total of values against maxElements. */
export class ElementBudget {
  #used = 0
  constructor(readonly max: number) {}

  get used(): number {
    return this.#used
  }

  /** Counts `count` more values; refuses (at `offset`) when that passes the limit. */
  spend(count: number, offset: number): void {
    this.#used += count
    if (this.#used > this.max) {
      throw new FormatRefusal('too-large', offset, `more than ${this.max} values`)
    }
  }
}
