// A JSON reader for session payloads, used instead of JSON.parse because a session must come out
// exactly as the framework meant it, and JSON.parse cannot promise that:
// - an integer beyond 2^53 (Python and Ruby keep any size) would be rounded, and a rounded user id
//   can be somebody else's: such integers come out as exact bigints instead;
// - Python's json module writes NaN, Infinity and -Infinity, which Flask and Django then read back;
// - Flask's tagged JSON turns some objects into other values, from the innermost out, the way
//   Python's object_hook does;
// - nesting is bounded, so hostile input cannot exhaust the stack.
// Objects have no prototype (so `__proto__` is an ordinary key), as the PHP and pickle decoders
// make them, and every object and array is frozen as it is built. Duplicate keys keep their first
// place and last value, as a Python dict or a Ruby Hash does.
import { refuse, type SessionObject, type SessionValue } from './signed-result.js'

export interface StrictJsonOptions {
  /** Accept the NaN, Infinity and -Infinity that Python's json module writes. */
  readonly allowNonFinite: boolean
  readonly maxDepth: number
  /** Turns each object's entries, in order, into its value (Flask's tags); default: a plain object. */
  readonly reviveObject?: (entries: ReadonlyMap<string, SessionValue>) => SessionValue
}

export function readStrictJson(text: string, options: StrictJsonOptions): SessionValue {
  const reader = new Reader(text, options)
  reader.skipSpace()
  const value = reader.value(0)
  reader.skipSpace()
  if (reader.pos !== text.length) reader.fail('text after the JSON value')
  return value
}

/** A frozen object of the entries, without prototype. */
export function plainObject(entries: ReadonlyMap<string, SessionValue>): SessionObject {
  const object: Record<string, SessionValue> = Object.create(null)
  for (const [key, value] of entries) object[key] = value
  return Object.freeze(object)
}

const MAX_INTEGER_DIGITS = 4300
const QUOTE = 0x22
const BACKSLASH = 0x5c

class Reader {
  pos = 0
  readonly #text: string
  readonly #options: StrictJsonOptions

  constructor(text: string, options: StrictJsonOptions) {
    this.#text = text
    this.#options = options
  }

  fail(why: string): never {
    refuse('malformed', `payload is not JSON: ${why}`)
  }

  skipSpace(): void {
    const text = this.#text
    let pos = this.pos
    for (;;) {
      const c = text.charCodeAt(pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++
      else break
    }
    this.pos = pos
  }

  value(depth: number): SessionValue {
    const c = this.#text.charCodeAt(this.pos)
    switch (c) {
      case 0x7b: // {
        return this.#object(depth + 1)
      case 0x5b: // [
        return this.#array(depth + 1)
      case QUOTE:
        return this.#string()
      case 0x74: // t
        return this.#literal('true', true)
      case 0x66: // f
        return this.#literal('false', false)
      case 0x6e: // n
        return this.#literal('null', null)
      case 0x4e: // N
        return this.#nonFinite('NaN', Number.NaN)
      case 0x49: // I
        return this.#nonFinite('Infinity', Number.POSITIVE_INFINITY)
      default:
        if (c === 0x2d && this.#text.startsWith('-Infinity', this.pos))
          return this.#nonFinite('-Infinity', Number.NEGATIVE_INFINITY)
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number()
        return this.fail(Number.isNaN(c) ? 'unexpected end' : 'unexpected character')
    }
  }

  #enter(depth: number): void {
    if (depth > this.#options.maxDepth) refuse('too-deep', 'payload nested deeper than the limit')
    this.pos++
    this.skipSpace()
  }

  #object(depth: number): SessionValue {
    this.#enter(depth)
    const entries = new Map<string, SessionValue>()
    const text = this.#text
    if (text.charCodeAt(this.pos) === 0x7d) {
      this.pos++
    } else {
      for (;;) {
        if (text.charCodeAt(this.pos) !== QUOTE) this.fail('object key is not a string')
        const key = this.#string()
        this.skipSpace()
        if (text.charCodeAt(this.pos) !== 0x3a) this.fail('missing colon')
        this.pos++
        this.skipSpace()
        entries.set(key, this.value(depth))
        this.skipSpace()
        const c = text.charCodeAt(this.pos++)
        if (c === 0x7d) break
        if (c !== 0x2c) this.fail('missing comma or closing brace')
        this.skipSpace()
      }
    }
    const revive = this.#options.reviveObject
    return revive ? revive(entries) : plainObject(entries)
  }

  #array(depth: number): SessionValue {
    this.#enter(depth)
    const items: SessionValue[] = []
    const text = this.#text
    if (text.charCodeAt(this.pos) === 0x5d) {
      this.pos++
      return Object.freeze(items)
    }
    for (;;) {
      items.push(this.value(depth))
      this.skipSpace()
      const c = text.charCodeAt(this.pos++)
      if (c === 0x5d) return Object.freeze(items)
      if (c !== 0x2c) this.fail('missing comma or closing bracket')
      this.skipSpace()
    }
  }

  #literal<T>(word: string, value: T): T {
    if (!this.#text.startsWith(word, this.pos)) this.fail('unknown literal')
    this.pos += word.length
    return value
  }

  #nonFinite(word: string, value: number): number {
    if (!this.#options.allowNonFinite) this.fail('NaN and Infinity are not JSON')
    return this.#literal(word, value)
  }

  #number(): SessionValue {
    const text = this.#text
    const start = this.pos
    let pos = start
    if (text.charCodeAt(pos) === 0x2d) pos++
    if (text.charCodeAt(pos) === 0x30) pos++
    else if (isDigit(text.charCodeAt(pos))) while (isDigit(text.charCodeAt(pos))) pos++
    else this.fail('bad number')
    let integer = true
    if (text.charCodeAt(pos) === 0x2e) {
      integer = false
      pos++
      if (!isDigit(text.charCodeAt(pos))) this.fail('bad number')
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    const e = text.charCodeAt(pos)
    if (e === 0x65 || e === 0x45) {
      integer = false
      pos++
      const sign = text.charCodeAt(pos)
      if (sign === 0x2b || sign === 0x2d) pos++
      if (!isDigit(text.charCodeAt(pos))) this.fail('bad number')
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    this.pos = pos
    const literal = text.slice(start, pos)
    const value = Number(literal)
    if (!integer) return value
    if (!Number.isSafeInteger(value)) {
      // Python 3.11 refuses to read longer integers (int_max_str_digits), and BigInt() of a huge
      // literal costs more than the rest of the decode.
      const digits = literal.length - (literal.startsWith('-') ? 1 : 0)
      if (digits > MAX_INTEGER_DIGITS) refuse('too-large', 'integer of more than 4300 digits')
      return BigInt(literal)
    }
    // An integer has no sign of zero in Python or Ruby.
    return value === 0 ? 0 : value
  }

  #string(): string {
    const text = this.#text
    let pos = this.pos + 1
    let chunkStart = pos
    let out = ''
    for (;;) {
      const c = text.charCodeAt(pos)
      if (c === QUOTE) {
        this.pos = pos + 1
        return out + text.slice(chunkStart, pos)
      }
      if (c < 0x20 || Number.isNaN(c))
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character')
      if (c !== BACKSLASH) {
        pos++
        continue
      }
      out += text.slice(chunkStart, pos) + this.#escape(pos + 1)
      pos += text.charCodeAt(pos + 1) === 0x75 ? 6 : 2
      chunkStart = pos
    }
  }

  /** The character an escape stands for; `at` is just after the backslash. */
  #escape(at: number): string {
    const escaped = this.#text.charCodeAt(at)
    switch (escaped) {
      case QUOTE:
        return '"'
      case BACKSLASH:
        return '\\'
      case 0x2f:
        return '/'
      case 0x62:
        return '\b'
      case 0x66:
        return '\f'
      case 0x6e:
        return '\n'
      case 0x72:
        return '\r'
      case 0x74:
        return '\t'
      case 0x75: {
        const hex = this.#text.slice(at + 1, at + 5)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape')
        return String.fromCharCode(Number.parseInt(hex, 16))
      }
      default:
        return this.fail('bad escape')
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}
