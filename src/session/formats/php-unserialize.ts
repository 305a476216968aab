// PHP's serialize() format, decoded into plain frozen values, as PHP's own unserialize() reads it
// but stricter (every length, count and terminator checked; nothing after the value).
//
// Objects are never instantiated: there is nothing to instantiate in JavaScript, and no method of
// the PHP class (__wakeup, __unserialize, __destruct...) means anything here. Their data is handed
// out inert, so a session that keeps a user object (`$_SESSION['user'] = $user`) stays readable:
//   O:  -> PhpObject       { className, properties } (names as PHP's `(array)$obj` gives them:
//                          "\0Class\0name" for private, "\0*\0name" for protected)
//   C:  -> PhpCustomObject { className, payload }    (Serializable's own format: left unread)
//   E:  -> PhpEnumCase     { className, caseName }
// The session store is written by the app itself, so reading values from inside an object is no
// more trusting than reading an array; a deployment that wants none of it passes
// `objects: 'refuse'` and any object refuses the whole input with 'php-object'.
//
// Values:  N -> null, b -> boolean, i -> number (bigint beyond 2^53), d -> number (INF, NAN too),
// s -> string when the bytes are UTF-8, else ByteString; a -> a frozen array when its keys are
// 0..n-1 in order (PHP's array_is_list), else a frozen object without prototype whose keys are
// the PHP keys as strings (PHP itself makes "5" and 5 the same key).
//
// References: R:n (PHP reference) and r:n (the same object again) name the n-th value read so far,
// numbered as PHP numbers them. The value already built is reused, and each reuse is charged its
// full size against maxElements, so a few bytes of references cannot stand for a huge tree. A
// reference to a container that is still open (a cycle: PHP writes one for `$o->self = $o`) becomes
// the PhpRecursion marker, so the result stays a finite tree and the rest of the session readable.
import { ByteString } from './byte-string.js'
import {
  COMMON_REFUSAL_REASONS,
  type DecodeLimits,
  type DecodeResult,
  ElementBudget,
  FormatRefusal,
  resolveLimits,
  runDecoder,
} from './format-result.js'

export interface PhpMap {
  readonly [key: string]: PhpValue
}
export type PhpArray = readonly PhpValue[] | PhpMap
export type PhpValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | ByteString
  | PhpArray
  | PhpObject
  | PhpCustomObject
  | PhpEnumCase
  | PhpRecursion

/** An object's data (`O:`), never an instance of its class. */
export class PhpObject {
  constructor(
    readonly className: string,
    readonly properties: PhpMap,
  ) {
    Object.freeze(this)
  }
}

/** An object of a class with its own format (`C:`, the Serializable interface): left unread. */
export class PhpCustomObject {
  constructor(
    readonly className: string,
    readonly payload: string | ByteString,
  ) {
    Object.freeze(this)
  }
}

/**
 * Where a reference names a container that encloses it (PHP writes `$o->self = $o` so): a frozen
 * tree cannot hold the cycle, so the inner end becomes this marker, as var_dump prints *RECURSION*.
 */
export class PhpRecursion {
  constructor() {
    Object.freeze(this)
  }
}
export const PHP_RECURSION: PhpRecursion = new PhpRecursion()

/** A case of an enum (`E:`, PHP 8.1+). */
export class PhpEnumCase {
  constructor(
    readonly className: string,
    readonly caseName: string,
  ) {
    Object.freeze(this)
  }
}

export const PHP_REFUSAL_REASONS = Object.freeze([...COMMON_REFUSAL_REASONS, 'php-object'] as const)
/** 'php-object' only with `objects: 'refuse'`. */
export type PhpRefusalReason = (typeof PHP_REFUSAL_REASONS)[number]

export interface PhpDecodeOptions extends Partial<DecodeLimits> {
  /** 'inert' (the default) hands objects out as data; 'refuse' refuses any input holding one. */
  readonly objects?: 'inert' | 'refuse'
}

/** Decodes one serialize()d value (what PHP's unserialize() reads). A string is taken as UTF-8. */
export function phpUnserialize(
  input: Uint8Array | string,
  options?: PhpDecodeOptions,
): DecodeResult<PhpValue, PhpRefusalReason> {
  return runDecoder(() => {
    const reader = PhpValueReader.open(input, options)
    const value = reader.readValue()
    reader.expectEnd()
    return value
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The text of UTF-8 bytes, or undefined when they are not UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
// The longest float PHP writes is about 25 characters; anything much longer is not PHP's.
const MAX_FLOAT_TEXT = 400
// The shortest array element is `i:0;N;`.
const MIN_ELEMENT_BYTES = 6
// Characters PHP accepts in a class name (zend_is_valid_class_name), namespaces included.
const CLASS_NAME = /^[A-Za-z0-9_\\\u0080-\u{10ffff}]+$/u
const ENUM_CASE_NAME = /^[A-Za-z_\u0080-\u{10ffff}][A-Za-z0-9_\u0080-\u{10ffff}]*$/u

const QUOTE = 0x22
const PLUS = 0x2b
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39
const COLON = 0x3a
const SEMICOLON = 0x3b
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

interface Slot {
  /** Undefined while the value (a container) is still being read. */
  value: PhpValue | undefined
  /** How many values it stands for, itself included. */
  size: number
}

/**
 * Reads serialize()d values one after the other from the same bytes; the session decoder reads
 * several in a row, and PHP numbers references across all of them.
 */
export class PhpValueReader {
  #pos = 0
  readonly #bytes: Uint8Array
  readonly #limits: DecodeLimits
  readonly #budget: ElementBudget
  readonly #refuseObjects: boolean
  readonly #slots: Slot[] = []
  // A C: payload is read by the class itself in PHP, and may number values of its own, so the
  // numbers of later references cannot be known.
  #numberingLost = false

  private constructor(bytes: Uint8Array, options: PhpDecodeOptions | undefined) {
    this.#bytes = bytes
    this.#limits = resolveLimits(options)
    this.#budget = new ElementBudget(this.#limits.maxElements)
    this.#refuseObjects = options?.objects === 'refuse'
  }

  static open(input: Uint8Array | string, options: PhpDecodeOptions | undefined): PhpValueReader {
    const limits = resolveLimits(options)
    const length = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length
    if (length > limits.maxBytes) {
      throw new FormatRefusal('too-large', 0, `input of ${length} bytes, more than ${limits.maxBytes}`)
    }
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
    return new PhpValueReader(bytes, options)
  }

  get position(): number {
    return this.#pos
  }

  get atEnd(): boolean {
    return this.#pos >= this.#bytes.length
  }

  get bytes(): Uint8Array {
    return this.#bytes
  }

  /** Moves past bytes the caller has read itself (a session variable's name). */
  skip(count: number): void {
    if (this.#pos + count > this.#bytes.length) this.#refuse('truncated', 'the input ends inside a name')
    this.#pos += count
  }

  expectEnd(): void {
    if (!this.atEnd) this.#refuse('bad-syntax', 'bytes after the end of the value')
  }

  readValue(): PhpValue {
    return this.#readValue(0)
  }

  #readValue(depth: number): PhpValue {
    const start = this.#pos
    const type = this.#byte()
    // R: (a PHP reference) gets no number of its own; r: (the same object again) does: PHP's
    // var_push skips only 'R'.
    if (type === 0x52 /* R */) return this.#readReference(start, false).value
    if (type === 0x72 /* r */) {
      const target = this.#readReference(start, true)
      this.#slots.push({ value: target.value, size: target.size })
      return target.value
    }
    const slot: Slot = { value: undefined, size: 0 }
    this.#slots.push(slot)
    const usedBefore = this.#budget.used
    this.#budget.spend(1, start)
    let value: PhpValue
    switch (type) {
      case 0x4e /* N */:
        this.#expect(SEMICOLON)
        value = null
        break
      case 0x62 /* b */:
        {
          this.#expect(COLON)
          const digit = this.#byte()
          if (digit !== ZERO && digit !== ZERO + 1)
            this.#refuse('bad-syntax', 'a boolean is b:0 or b:1', start)
          this.#expect(SEMICOLON)
          value = digit !== ZERO
          break
        }
      case 0x69 /* i */:
        this.#expect(COLON)
        value = this.#readInteger(SEMICOLON)
        break
      case 0x64 /* d */:
        this.#expect(COLON)
        value = this.#readFloat()
        break
      case 0x73 /* s */:
        value = this.#readString()
        break
      case 0x61 /* a */:
        value = this.#readArray(depth + 1)
        break
      case 0x4f /* O */:
        value = this.#readObject(depth + 1)
        break
      case 0x43 /* C */:
        value = this.#readCustomObject()
        break
      case 0x45 /* E */:
        value = this.#readEnumCase()
        break
      default:
        this.#refuse('bad-syntax', 'not a PHP serialized value', start)
    }
    slot.value = value
    slot.size = this.#budget.used - usedBefore
    return value
  }

  /** The value a reference names, charged its full size. */
  #readReference(start: number, objectReference: boolean): { value: PhpValue; size: number } {
    this.#expect(COLON)
    const number = this.#readLength(SEMICOLON)
    if (this.#numberingLost) {
      this.#refuse('bad-reference', 'a reference after a C: object, whose values PHP numbers itself', start)
    }
    const target = number >= 1 ? this.#slots[number - 1] : undefined
    if (target === undefined)
      this.#refuse('bad-reference', `reference to value ${number}, which is not there`, start)
    if (target.value === undefined) {
      this.#budget.spend(1, start)
      return { value: PHP_RECURSION, size: 1 }
    }
    if (objectReference && !isPhpObjectValue(target.value)) {
      this.#refuse('bad-reference', 'r: names a value that is not an object', start)
    }
    this.#budget.spend(target.size, start)
    return { value: target.value, size: target.size }
  }

  #readString(): string | ByteString {
    const raw = this.#readQuotedBytes()
    this.#expect(SEMICOLON)
    return utf8OrUndefined(raw) ?? new ByteString(raw)
  }

  /** `:<length>:"<bytes>"`, the length in bytes. */
  #readQuotedBytes(): Uint8Array {
    this.#expect(COLON)
    const length = this.#readLength(COLON)
    this.#expect(QUOTE)
    if (length > this.#bytes.length - this.#pos) this.#refuse('truncated', 'a string longer than the input')
    const raw = this.#bytes.subarray(this.#pos, this.#pos + length)
    this.#pos += length
    this.#expect(QUOTE)
    return raw
  }

  #readArray(depth: number): PhpArray {
    const start = this.#pos - 1
    this.#checkDepth(depth, start)
    this.#expect(COLON)
    const count = this.#readElementCount()
    this.#expect(OPEN_BRACE)
    const entries = this.#readEntries(count, depth)
    this.#expect(CLOSE_BRACE)
    return toPhpArray(entries)
  }

  #readObject(depth: number): PhpObject {
    const start = this.#pos - 1
    if (this.#refuseObjects) this.#refuse('php-object', 'an object (O:) in the session', start)
    this.#checkDepth(depth, start)
    const className = this.#readClassName(start)
    this.#expect(COLON)
    const count = this.#readElementCount()
    this.#expect(OPEN_BRACE)
    const entries = this.#readEntries(count, depth)
    this.#expect(CLOSE_BRACE)
    return new PhpObject(className, toPhpMap(entries))
  }

  #readCustomObject(): PhpCustomObject {
    const start = this.#pos - 1
    if (this.#refuseObjects) this.#refuse('php-object', 'an object (C:) in the session', start)
    const className = this.#readClassName(start)
    this.#expect(COLON)
    const length = this.#readLength(COLON)
    this.#expect(OPEN_BRACE)
    if (length > this.#bytes.length - this.#pos)
      this.#refuse('truncated', 'a C: payload longer than the input')
    const payload = this.#bytes.subarray(this.#pos, this.#pos + length)
    this.#pos += length
    this.#expect(CLOSE_BRACE)
    this.#numberingLost = true
    return new PhpCustomObject(className, utf8OrUndefined(payload) ?? new ByteString(payload))
  }

  #readEnumCase(): PhpEnumCase {
    const start = this.#pos - 1
    if (this.#refuseObjects) this.#refuse('php-object', 'an enum case (E:) in the session', start)
    const name = utf8OrUndefined(this.#readQuotedBytes())
    this.#expect(SEMICOLON)
    const colon = name?.lastIndexOf(':') ?? -1
    const className = name?.slice(0, colon) ?? ''
    const caseName = name?.slice(colon + 1) ?? ''
    if (colon < 0 || !CLASS_NAME.test(className) || !ENUM_CASE_NAME.test(caseName)) {
      this.#refuse('bad-syntax', 'an enum case is E:<length>:"Class:Case";', start)
    }
    return new PhpEnumCase(className, caseName)
  }

  #readClassName(start: number): string {
    const name = utf8OrUndefined(this.#readQuotedBytes())
    if (name === undefined || !CLASS_NAME.test(name))
      this.#refuse('bad-syntax', 'not a PHP class name', start)
    return name
  }

  /** `count` key/value pairs; keys are integers or strings, as PHP allows. */
  #readEntries(count: number, depth: number): Map<string, PhpValue> {
    const entries = new Map<string, PhpValue>()
    for (let i = 0; i < count; i++) {
      const key = this.#readKey()
      // A repeated key keeps its first place and takes the last value, as in PHP.
      entries.set(key, this.#readValue(depth))
    }
    return entries
  }

  #readKey(): string {
    const start = this.#pos
    const type = this.#byte()
    if (type === 0x69 /* i */) {
      this.#expect(COLON)
      return String(this.#readInteger(SEMICOLON))
    }
    if (type === 0x73 /* s */) {
      const raw = this.#readQuotedBytes()
      this.#expect(SEMICOLON)
      const key = utf8OrUndefined(raw)
      if (key === undefined) this.#refuse('unsupported', 'an array key that is not UTF-8', start)
      return key
    }
    this.#refuse('bad-syntax', 'an array key is i: or s:', start)
  }

  #readElementCount(): number {
    const start = this.#pos
    const count = this.#readLength(COLON)
    if (count > this.#budget.max - this.#budget.used) {
      this.#refuse('too-large', `an array of ${count} elements, more than the limit allows`, start)
    }
    if (count * MIN_ELEMENT_BYTES > this.#bytes.length - this.#pos) {
      this.#refuse('truncated', `an array of ${count} elements in fewer bytes than that takes`, start)
    }
    return count
  }

  #checkDepth(depth: number, start: number): void {
    if (depth > this.#limits.maxDepth) {
      this.#refuse('too-deep', `containers nested more than ${this.#limits.maxDepth} deep`, start)
    }
  }

  /** Unsigned decimal digits, then `terminator`. */
  #readLength(terminator: number): number {
    const start = this.#pos
    let value = 0
    while (this.#pos < this.#bytes.length) {
      const c = this.#bytes[this.#pos] as number
      if (c < ZERO || c > NINE) break
      // Past 2^53 the number is only approximate, but already far beyond any input length.
      value = value * 10 + (c - ZERO)
      this.#pos++
    }
    if (this.#pos === start) this.#expectedDigits()
    this.#expect(terminator)
    return value
  }

  /** A signed 64-bit integer in decimal, then `terminator`. */
  #readInteger(terminator: number): number | bigint {
    const start = this.#pos
    const first = this.#peek()
    if (first === PLUS || first === MINUS) this.#pos++
    const digitsStart = this.#pos
    while (this.#pos < this.#bytes.length) {
      const c = this.#bytes[this.#pos] as number
      if (c < ZERO || c > NINE) break
      this.#pos++
    }
    if (this.#pos === digitsStart) this.#expectedDigits()
    let significant = digitsStart
    while (significant < this.#pos - 1 && this.#bytes[significant] === ZERO) significant++
    // PHP saturates an integer that does not fit; PHP never writes one, so it is refused.
    if (this.#pos - significant > 19) this.#refuse('bad-syntax', 'an integer beyond 64 bits', start)
    const text = Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + start, this.#pos - start).toString(
      'latin1',
    )
    this.#expect(terminator)
    const big = BigInt(text.startsWith('+') ? text.slice(1) : text)
    if (big < INT64_MIN || big > INT64_MAX) this.#refuse('bad-syntax', 'an integer beyond 64 bits', start)
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big
  }

  #readFloat(): number {
    const start = this.#pos
    const end = this.#bytes.indexOf(SEMICOLON, start)
    if (end === -1) this.#refuse('truncated', 'the input ends inside a float')
    if (end - start > MAX_FLOAT_TEXT) this.#refuse('bad-syntax', 'not a float', start)
    const text = Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + start, end - start).toString(
      'latin1',
    )
    let value: number
    if (text === 'INF') value = Number.POSITIVE_INFINITY
    else if (text === '-INF') value = Number.NEGATIVE_INFINITY
    else if (text === 'NAN') value = Number.NaN
    else if (FLOAT_TEXT.test(text)) value = Number(text)
    else this.#refuse('bad-syntax', 'not a float', start)
    this.#pos = end + 1
    return value
  }

  #byte(): number {
    if (this.#pos >= this.#bytes.length) this.#refuse('truncated', 'the input ends inside a value')
    return this.#bytes[this.#pos++] as number
  }

  #peek(): number | undefined {
    return this.#bytes[this.#pos]
  }

  #expect(expected: number): void {
    const at = this.#pos
    if (this.#byte() !== expected) {
      this.#refuse('bad-syntax', `expected '${String.fromCharCode(expected)}'`, at)
    }
  }

  #expectedDigits(): never {
    if (this.atEnd) this.#refuse('truncated', 'the input ends inside a number')
    this.#refuse('bad-syntax', 'expected digits')
  }

  #refuse(reason: PhpRefusalReason, detail: string, at = this.#pos): never {
    throw new FormatRefusal(reason, at, detail)
  }
}

function isPhpObjectValue(value: PhpValue): boolean {
  return value instanceof PhpObject || value instanceof PhpCustomObject || value instanceof PhpEnumCase
}

function toPhpArray(entries: Map<string, PhpValue>): PhpArray {
  let index = 0
  for (const key of entries.keys()) {
    if (key !== String(index)) return toPhpMap(entries)
    index++
  }
  return Object.freeze([...entries.values()])
}

/** A frozen object without prototype, so that keys such as `__proto__` are plain keys. */
export function toPhpMap(entries: Map<string, PhpValue>): PhpMap {
  const map: Record<string, PhpValue> = Object.create(null)
  for (const [key, value] of entries) map[key] = value
  return Object.freeze(map)
}
