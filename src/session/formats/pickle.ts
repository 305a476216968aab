// A safe subset of Python's pickle (protocols 0-5), enough for what pickle.dumps and django-redis
// write for a session dict: dict, list, tuple, str, bytes, int, float, bool, None, and the datetime
// module's values. Pickle is a little stack machine whose GLOBAL, REDUCE, BUILD and friends make
// the reader import and call anything; here nothing is imported or called. The only globals
// accepted are the handful in pickle-calls.ts, interpreted by our code; every other global,
// object-building opcode, persistent id, extension code, out-of-band buffer or unknown opcode
// refuses the whole pickle at the byte where it appears.
//
// Values: dict -> frozen object without prototype (keys: str, or int written in decimal; bool and
// other keys are refused), list and tuple -> frozen array, int -> number (bigint beyond 2^53),
// float -> number, bytes and bytearray -> ByteString, datetime values -> the classes of
// python-datetime.ts. Sets are refused ('unsupported'), as are Python 2 `str` pickles and strs
// holding lone surrogates. Python shares one object wherever the memo names it; here a shared
// value is charged its full size against maxElements every time it appears, and a container that
// contains itself is refused ('bad-reference').
import { ByteString } from './byte-string.js'
import {
  COMMON_REFUSAL_REASONS,
  type DecodeLimits,
  type DecodeResult,
  ElementBudget,
  FormatRefusal,
  loggableName,
  resolveLimits,
  runDecoder,
} from './format-result.js'
import { callAllowedGlobal, isAllowedGlobal } from './pickle-calls.js'
import type { PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone } from './python-datetime.js'

export interface PickleDict {
  readonly [key: string]: PickleValue
}
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | ByteString
  | PyDateTime
  | PyDate
  | PyTime
  | PyTimedelta
  | PyTimezone
  | readonly PickleValue[]
  | PickleDict

export const PICKLE_REFUSAL_REASONS = Object.freeze([
  ...COMMON_REFUSAL_REASONS,
  'pickle-global', // a global other than the few datetime/bytes ones
  'pickle-reduce', // a call of something not a global, or with arguments Python never writes
  'pickle-object', // BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX: building an instance
  'pickle-persistent-id', // PERSID, BINPERSID
  'pickle-extension', // EXT1, EXT2, EXT4: globals by registry number
  'pickle-buffer', // NEXT_BUFFER, READONLY_BUFFER: out-of-band data
  'unknown-opcode',
] as const)
export type PickleRefusalReason = (typeof PICKLE_REFUSAL_REASONS)[number]

export type PickleDecodeOptions = Partial<DecodeLimits>

/**
 * Decodes a pickle. Bytes only: a pickle is binary, and a JavaScript string would first have to
 * be turned back into the exact bytes, which only the caller knows how to do.
 */
export function unpickle(
  input: Uint8Array,
  options?: PickleDecodeOptions,
): DecodeResult<PickleValue, PickleRefusalReason> {
  return runDecoder(() => {
    const limits = resolveLimits(options)
    if (input.length > limits.maxBytes) {
      throw new FormatRefusal('too-large', 0, `input of ${input.length} bytes, more than ${limits.maxBytes}`)
    }
    const machine = new PickleMachine(input)
    const result = machine.run()
    return new Finisher(limits, machine.stopOffset).finish(result, 0)
  })
}

const HIGHEST_PROTOCOL = 5
// Python's int() refuses longer decimal text (sys.int_info.default_max_str_digits).
const MAX_DECIMAL_DIGITS = 4300
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const NEWLINE = 0x0a

// Containers while the pickle runs: Python fills lists and dicts after creating (and memoizing)
// them, so they stay mutable until STOP, then become frozen values.
class ListBuilder {
  constructor(readonly items: Interim[] = []) {}
}
class TupleBuilder {
  constructor(readonly items: readonly Interim[]) {}
}
class DictBuilder {
  readonly entries = new Map<string, Interim>()
  // Keys that came from an int, so that {1: ..., '1': ...} is noticed rather than merged.
  readonly intKeys = new Set<string>()
}
/** An allowed global on the stack, waiting for its REDUCE. */
class GlobalReference {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
type Builder = ListBuilder | TupleBuilder | DictBuilder
/** What the stack holds while decoding: a finished scalar, or a container still being built. */
type Interim = Exclude<PickleValue, readonly PickleValue[] | PickleDict> | Builder | GlobalReference

// Opcodes by the names pickletools gives them.
const Op = {
  MARK: 0x28,
  EMPTY_TUPLE: 0x29,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  FLOAT: 0x46,
  BINFLOAT: 0x47,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class PickleMachine {
  readonly #bytes: Uint8Array
  #pos = 0
  /** Where the current frame ends; -1 outside frames. */
  #frameEnd = -1
  #opcodeStart = 0
  readonly #stack: Interim[] = []
  /** Stack lengths at each MARK; items below the last one cannot be popped. */
  readonly #marks: number[] = []
  readonly #memo = new Map<number, Interim>()
  stopOffset = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  run(): Interim {
    for (;;) {
      this.#opcodeStart = this.#pos
      const opcode = this.#readByte()
      switch (opcode) {
        case Op.PROTO: {
          const version = this.#readByte()
          if (version > HIGHEST_PROTOCOL) this.#refuse('unsupported', `pickle protocol ${version}`)
          break
        }
        case Op.FRAME:
          this.#startFrame()
          break
        case Op.STOP:
          return this.#stop()

        case Op.MARK:
          this.#marks.push(this.#stack.length)
          break
        case Op.POP:
          // Python pops a mark when there is no item above it.
          if (this.#stack.length > this.#fence()) this.#stack.pop()
          else this.#popMark()
          break
        case Op.POP_MARK:
          this.#popMark()
          break
        case Op.DUP:
          this.#push(this.#top())
          break

        case Op.NONE:
          this.#push(null)
          break
        case Op.NEWTRUE:
          this.#push(true)
          break
        case Op.NEWFALSE:
          this.#push(false)
          break
        case Op.INT:
          this.#push(this.#readTextInt())
          break
        case Op.BININT:
          this.#push(this.#view(4).getInt32(0, true))
          break
        case Op.BININT1:
          this.#push(this.#readByte())
          break
        case Op.BININT2:
          this.#push(this.#view(2).getUint16(0, true))
          break
        case Op.LONG:
          this.#push(this.#readTextLong())
          break
        case Op.LONG1:
          this.#push(littleEndianSigned(this.#read(this.#readByte())))
          break
        case Op.LONG4: {
          const length = this.#view(4).getInt32(0, true)
          if (length < 0) this.#refuse('bad-syntax', 'LONG4 with a negative length')
          this.#push(littleEndianSigned(this.#read(length)))
          break
        }
        case Op.FLOAT:
          this.#push(this.#readTextFloat())
          break
        case Op.BINFLOAT:
          this.#push(this.#view(8).getFloat64(0, false))
          break

        case Op.UNICODE:
          this.#push(this.#checkedText(decodeRawUnicodeEscape(this.#readLine())))
          break
        case Op.BINUNICODE:
          this.#push(this.#utf8(this.#read(this.#view(4).getUint32(0, true))))
          break
        case Op.SHORT_BINUNICODE:
          this.#push(this.#utf8(this.#read(this.#readByte())))
          break
        case Op.BINUNICODE8:
          this.#push(this.#utf8(this.#read(this.#readLength8())))
          break
        case Op.BINBYTES:
          this.#push(new ByteString(this.#read(this.#view(4).getUint32(0, true))))
          break
        case Op.SHORT_BINBYTES:
          this.#push(new ByteString(this.#read(this.#readByte())))
          break
        case Op.BINBYTES8:
        case Op.BYTEARRAY8:
          this.#push(new ByteString(this.#read(this.#readLength8())))
          break
        case Op.STRING:
        case Op.BINSTRING:
        case Op.SHORT_BINSTRING:
          this.#refuse('unsupported', 'a Python 2 str, which Python 3 never pickles')
          break

        case Op.EMPTY_TUPLE:
          this.#push(new TupleBuilder([]))
          break
        case Op.TUPLE:
          this.#push(new TupleBuilder(this.#popMark()))
          break
        case Op.TUPLE1:
        case Op.TUPLE2:
        case Op.TUPLE3:
          this.#push(new TupleBuilder(this.#popItems(opcode - Op.TUPLE1 + 1)))
          break
        case Op.EMPTY_LIST:
          this.#push(new ListBuilder())
          break
        case Op.LIST:
          this.#push(new ListBuilder(this.#popMark()))
          break
        case Op.APPEND: {
          const item = this.#pop()
          this.#topList().items.push(item)
          break
        }
        case Op.APPENDS: {
          const items = this.#popMark()
          const list = this.#topList()
          // Not push(...items): a spread of a million arguments overflows the call stack.
          for (const item of items) list.items.push(item)
          break
        }
        case Op.EMPTY_DICT:
          this.#push(new DictBuilder())
          break
        case Op.DICT: {
          const dict = new DictBuilder()
          this.#setItems(dict, this.#popMark())
          this.#push(dict)
          break
        }
        case Op.SETITEM: {
          const keyAndValue = this.#popItems(2)
          this.#setItems(this.#topDict(), keyAndValue)
          break
        }
        case Op.SETITEMS: {
          const items = this.#popMark()
          this.#setItems(this.#topDict(), items)
          break
        }
        case Op.EMPTY_SET:
        case Op.ADDITEMS:
        case Op.FROZENSET:
          this.#refuse('unsupported', 'a set')
          break

        case Op.GET:
          this.#push(this.#memoGet(this.#readTextIndex()))
          break
        case Op.BINGET:
          this.#push(this.#memoGet(this.#readByte()))
          break
        case Op.LONG_BINGET:
          this.#push(this.#memoGet(this.#view(4).getUint32(0, true)))
          break
        case Op.PUT:
          this.#memo.set(this.#readTextIndex(), this.#top())
          break
        case Op.BINPUT:
          this.#memo.set(this.#readByte(), this.#top())
          break
        case Op.LONG_BINPUT:
          this.#memo.set(this.#view(4).getUint32(0, true), this.#top())
          break
        case Op.MEMOIZE:
          this.#memo.set(this.#memo.size, this.#top())
          break

        case Op.GLOBAL: {
          const module = this.#lineText()
          const name = this.#lineText()
          this.#push(this.#global(module, name))
          break
        }
        case Op.STACK_GLOBAL: {
          const [module, name] = this.#popItems(2)
          if (typeof module !== 'string' || typeof name !== 'string') {
            this.#refuse('bad-syntax', 'STACK_GLOBAL without two strs')
          }
          this.#push(this.#global(module, name))
          break
        }
        case Op.REDUCE:
          this.#reduce()
          break

        case Op.BUILD:
        case Op.INST:
        case Op.OBJ:
        case Op.NEWOBJ:
        case Op.NEWOBJ_EX:
          this.#refuse('pickle-object', `${OPCODE_NAMES.get(opcode)}: building an object`)
          break
        case Op.PERSID:
        case Op.BINPERSID:
          this.#refuse('pickle-persistent-id', 'a persistent id, which only the writing app can resolve')
          break
        case Op.EXT1:
        case Op.EXT2:
        case Op.EXT4:
          this.#refuse('pickle-extension', 'an extension code, which names a global')
          break
        case Op.NEXT_BUFFER:
        case Op.READONLY_BUFFER:
          this.#refuse('pickle-buffer', 'an out-of-band buffer')
          break
        default:
          this.#refuse('unknown-opcode', `opcode 0x${opcode.toString(16).padStart(2, '0')}`)
      }
    }
  }

  #stop(): Interim {
    if (this.#marks.length > 0 || this.#stack.length !== 1) {
      this.#refuse('bad-syntax', 'STOP with more or less than one value on the stack')
    }
    if (this.#pos !== this.#bytes.length) this.#refuse('bad-syntax', 'bytes after STOP', this.#pos)
    this.stopOffset = this.#opcodeStart
    return this.#stack[0] as Interim
  }

  /** FRAME announces how many bytes of opcodes follow together (protocol 4+). */
  #startFrame(): void {
    if (this.#frameEnd !== -1) this.#refuse('bad-syntax', 'a frame inside a frame')
    const length = this.#readLength8()
    if (length > this.#bytes.length - this.#pos) this.#refuse('truncated', 'a frame longer than the input')
    if (length > 0) this.#frameEnd = this.#pos + length
  }

  #global(module: string, name: string): GlobalReference {
    if (!isAllowedGlobal(module, name)) {
      this.#refuse('pickle-global', `global ${loggableName(`${module}.${name}`)}`)
    }
    return new GlobalReference(module, name)
  }

  #reduce(): void {
    const args = this.#pop()
    const callable = this.#top()
    if (!(callable instanceof GlobalReference))
      this.#refuse('pickle-reduce', 'REDUCE of something not a global')
    if (!(args instanceof TupleBuilder)) this.#refuse('pickle-reduce', 'REDUCE without a tuple of arguments')
    const value = callAllowedGlobal(callable.module, callable.name, args.items, this.#opcodeStart) as Interim
    this.#stack[this.#stack.length - 1] = value
  }

  #setItems(dict: DictBuilder, items: readonly Interim[]): void {
    if (items.length % 2 !== 0) this.#refuse('bad-syntax', 'a key without a value')
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]
      let text: string
      if (typeof key === 'string') text = key
      else if (typeof key === 'number' || typeof key === 'bigint') text = String(key)
      else this.#refuse('unsupported', 'a dict key that is neither a str nor an int')
      const fromInt = typeof key !== 'string'
      if (dict.entries.has(text) && dict.intKeys.has(text) !== fromInt) {
        this.#refuse('unsupported', 'a dict with both an int key and the same digits as a str key')
      }
      if (fromInt) dict.intKeys.add(text)
      dict.entries.set(text, items[i + 1] as Interim)
    }
  }

  #memoGet(index: number): Interim {
    const value = this.#memo.get(index)
    if (value === undefined) this.#refuse('bad-reference', `memo ${index}, which was never stored`)
    return value
  }

  // --- the stack

  #fence(): number {
    return this.#marks.length === 0 ? 0 : (this.#marks[this.#marks.length - 1] as number)
  }

  #push(value: Interim): void {
    this.#stack.push(value)
  }

  #pop(): Interim {
    if (this.#stack.length <= this.#fence()) this.#refuse('bad-syntax', 'stack underflow')
    return this.#stack.pop() as Interim
  }

  #top(): Interim {
    if (this.#stack.length <= this.#fence()) this.#refuse('bad-syntax', 'stack underflow')
    return this.#stack[this.#stack.length - 1] as Interim
  }

  #popItems(count: number): Interim[] {
    if (this.#stack.length - count < this.#fence()) this.#refuse('bad-syntax', 'stack underflow')
    return this.#stack.splice(this.#stack.length - count, count)
  }

  #popMark(): Interim[] {
    const mark = this.#marks.pop()
    if (mark === undefined) this.#refuse('bad-syntax', 'no MARK to return to')
    return this.#stack.splice(mark)
  }

  #topList(): ListBuilder {
    const list = this.#top()
    if (!(list instanceof ListBuilder)) this.#refuse('bad-syntax', 'appending to something not a list')
    return list
  }

  #topDict(): DictBuilder {
    const dict = this.#top()
    if (!(dict instanceof DictBuilder)) this.#refuse('bad-syntax', 'setting an item of something not a dict')
    return dict
  }

  // --- reading bytes, within the current frame

  #read(length: number): Uint8Array {
    const end = this.#pos + length
    if (end > this.#bytes.length) this.#refuse('truncated', 'the input ends inside a value')
    if (this.#frameEnd !== -1) {
      if (end > this.#frameEnd) this.#refuse('bad-syntax', 'a value crosses the end of its frame')
      if (end === this.#frameEnd) this.#frameEnd = -1
    }
    const bytes = this.#bytes.subarray(this.#pos, end)
    this.#pos = end
    return bytes
  }

  #readByte(): number {
    return this.#read(1)[0] as number
  }

  #view(length: number): DataView {
    const bytes = this.#read(length)
    return new DataView(bytes.buffer, bytes.byteOffset, length)
  }

  /** An 8-byte little-endian length; anything beyond the input is only 'truncated'. */
  #readLength8(): number {
    const length = this.#view(8).getBigUint64(0, true)
    const remaining = this.#bytes.length - this.#pos
    if (length > BigInt(remaining)) this.#refuse('truncated', 'a length beyond the end of the input')
    return Number(length)
  }

  /** The bytes up to a newline (protocol 0's text arguments), without it. */
  #readLine(): Uint8Array {
    const limit = this.#frameEnd === -1 ? this.#bytes.length : this.#frameEnd
    const newline = this.#bytes.subarray(this.#pos, limit).indexOf(NEWLINE)
    if (newline === -1) {
      if (limit === this.#bytes.length) this.#refuse('truncated', 'the input ends inside a line')
      this.#refuse('bad-syntax', 'a line crosses the end of its frame')
    }
    return this.#read(newline + 1).subarray(0, newline)
  }

  #lineText(): string {
    const text = latin1(this.#readLine())
    // Module and attribute names are identifiers; nothing else names anything we allow.
    if (!/^[\w.]*$/.test(text)) this.#refuse('pickle-global', `global ${loggableName(text)}`)
    return text
  }

  #readTextIndex(): number {
    const text = latin1(this.#readLine())
    if (!/^\d{1,15}$/.test(text)) this.#refuse('bad-syntax', 'a memo index is a decimal number')
    return Number(text)
  }

  /** INT: a decimal int, or 00/01 for False/True (protocol 0's bools). */
  #readTextInt(): number | bigint | boolean {
    const text = latin1(this.#readLine())
    if (text === '00') return false
    if (text === '01') return true
    return this.#decimal(text)
  }

  /** LONG: a decimal int, with Python 2's trailing L. */
  #readTextLong(): number | bigint {
    const text = latin1(this.#readLine())
    return this.#decimal(text.endsWith('L') ? text.slice(0, -1) : text)
  }

  #decimal(text: string): number | bigint {
    if (!/^[+-]?\d+$/.test(text)) this.#refuse('bad-syntax', 'not a decimal int')
    if (text.length > MAX_DECIMAL_DIGITS + 1)
      this.#refuse('too-large', `an int of more than ${MAX_DECIMAL_DIGITS} digits`)
    return smallestInt(BigInt(text))
  }

  #readTextFloat(): number {
    const text = latin1(this.#readLine())
    if (FLOAT_TEXT.test(text)) return Number(text)
    const special = /^([+-]?)(inf|nan)$/i.exec(text)
    if (special === null) this.#refuse('bad-syntax', 'not a float')
    if ((special[2] as string).toLowerCase() === 'nan') return Number.NaN
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
  }

  #utf8(bytes: Uint8Array): string {
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      // Python writes lone surrogates as UTF-8-like bytes ('surrogatepass'); a JavaScript
      // string could hold them, but no session value needs them.
      this.#refuse('unsupported', 'a str that is not UTF-8 (lone surrogates)')
    }
    return text
  }

  #checkedText(text: string | undefined): string {
    if (text === undefined) this.#refuse('bad-syntax', 'a broken \\u escape')
    if (!text.isWellFormed()) this.#refuse('unsupported', 'a str with lone surrogates')
    return text
  }

  #refuse(reason: PickleRefusalReason, detail: string, at = this.#opcodeStart): never {
    throw new FormatRefusal(reason, at, detail)
  }
}

/** Turns the builders left at STOP into frozen values, within the limits. */
class Finisher {
  readonly #limits: DecodeLimits
  readonly #budget: ElementBudget
  readonly #offset: number
  readonly #done = new Map<Builder, { value: PickleValue; size: number }>()
  readonly #open = new Set<Builder>()

  constructor(limits: DecodeLimits, offset: number) {
    this.#limits = limits
    this.#budget = new ElementBudget(limits.maxElements)
    this.#offset = offset
  }

  finish(value: Interim, depth: number): PickleValue {
    if (value instanceof GlobalReference) {
      throw new FormatRefusal('pickle-global', this.#offset, 'a class or function as a value')
    }
    if (!(value instanceof ListBuilder || value instanceof TupleBuilder || value instanceof DictBuilder)) {
      this.#budget.spend(1, this.#offset)
      return value
    }
    const done = this.#done.get(value)
    if (done !== undefined) {
      // Shared: charged again in full, so that the tree a reader walks stays within the limit.
      this.#budget.spend(done.size, this.#offset)
      return done.value
    }
    if (this.#open.has(value)) {
      throw new FormatRefusal('bad-reference', this.#offset, 'a container that contains itself')
    }
    if (depth + 1 > this.#limits.maxDepth) {
      throw new FormatRefusal(
        'too-deep',
        this.#offset,
        `containers nested more than ${this.#limits.maxDepth} deep`,
      )
    }
    this.#open.add(value)
    const usedBefore = this.#budget.used
    this.#budget.spend(1, this.#offset)
    let result: PickleValue
    if (value instanceof DictBuilder) {
      const dict: Record<string, PickleValue> = Object.create(null)
      for (const [key, item] of value.entries) dict[key] = this.finish(item, depth + 1)
      result = Object.freeze(dict)
    } else {
      result = Object.freeze(value.items.map((item) => this.finish(item, depth + 1)))
    }
    this.#open.delete(value)
    this.#done.set(value, { value: result, size: this.#budget.used - usedBefore })
    return result
  }
}

/** Two's complement, little-endian, as LONG1 and LONG4 carry an int. */
function littleEndianSigned(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0
  const hex = Buffer.from(bytes).reverse().toString('hex')
  let value = BigInt(`0x${hex}`)
  if ((bytes[bytes.length - 1] as number) & 0x80) value -= 1n << BigInt(bytes.length * 8)
  return smallestInt(value)
}

function smallestInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
}

/**
 * Python's raw-unicode-escape, which protocol 0 uses for str: bytes are latin-1 characters, except
 * \uXXXX and \UXXXXXXXX after an odd number of backslashes. Undefined for a broken escape.
 */
function decodeRawUnicodeEscape(bytes: Uint8Array): string | undefined {
  const text = latin1(bytes)
  if (!text.includes('\\')) return text
  let out = ''
  let i = 0
  while (i < text.length) {
    const backslashStart = i
    while (text[i] === '\\') i++
    const backslashes = i - backslashStart
    if (backslashes === 0) {
      out += text[i]
      i++
      continue
    }
    const letter = text[i]
    if (backslashes % 2 === 0 || (letter !== 'u' && letter !== 'U')) {
      out += '\\'.repeat(backslashes)
      continue
    }
    out += '\\'.repeat(backslashes - 1)
    const width = letter === 'u' ? 4 : 8
    const digits = text.slice(i + 1, i + 1 + width)
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) return undefined
    const code = Number.parseInt(digits, 16)
    if (code > 0x10ffff) return undefined
    out += String.fromCodePoint(code)
    i += 1 + width
  }
  return out
}

const OPCODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Op).map(([name, code]) => [code, name]),
)
