// The only calls a pickle may make here, and what each means. Python pickles some plain values as
// "call this global with these arguments" (GLOBAL + REDUCE): datetimes always, and bytes in
// protocols 0-2. Each global below is matched by exact module and name, takes exactly the
// arguments Python's own pickler writes for it, and is carried out by our code: nothing named in
// a pickle is ever looked up or run. Everything else is refused by the decoder.
import { ByteString } from './byte-string.js'
import { FormatRefusal } from './format-result.js'
import { daysInMonth, PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone } from './python-datetime.js'

type Call = (args: readonly unknown[]) => unknown

// Python 3 writes `__builtin__` for `builtins` in protocols 0-2, for Python 2 to read.
const CALLS: ReadonlyMap<string, Call> = new Map<string, Call>([
  ['datetime datetime', dateTimeFromState],
  ['datetime date', dateFromState],
  ['datetime time', timeFromState],
  ['datetime timedelta', timedeltaFromFields],
  ['datetime timezone', timezoneFromOffset],
  // pytz's UTC, which Django before 4.0 puts in aware datetimes; other pytz zones are refused.
  ['pytz _UTC', pytzUtc],
  ['_codecs encode', bytesFromLatin1Text],
  ['builtins bytes', emptyBytes],
  ['__builtin__ bytes', emptyBytes],
  ['builtins bytearray', bytearray],
  ['__builtin__ bytearray', bytearray],
])

/** Whether a pickle may name this global at all. */
export function isAllowedGlobal(module: string, name: string): boolean {
  return CALLS.has(`${module} ${name}`)
}

/** The value of calling an allowed global; refuses ('pickle-reduce') arguments Python never writes. */
export function callAllowedGlobal(
  module: string,
  name: string,
  args: readonly unknown[],
  offset: number,
): unknown {
  const call = CALLS.get(`${module} ${name}`)
  const value = call?.(args)
  if (value === undefined) {
    throw new FormatRefusal(
      'pickle-reduce',
      offset,
      `${module}.${name} called with arguments Python never pickles`,
    )
  }
  return value
}

const MAX_YEAR = 9999
const MAX_TIMEDELTA_DAYS = 999_999_999
const FOLD_BIT = 0x80

const isInt = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max

/** The state bytes of a datetime: year (2 bytes), month (+fold bit), day, h, m, s, microseconds (3). */
function dateTimeFromState(args: readonly unknown[]): PyDateTime | undefined {
  const [state, tzinfo] = args
  if (!(state instanceof ByteString) || state.length !== 10 || !optionalTimezone(args, tzinfo))
    return undefined
  const [yearHigh = 0, yearLow = 0, monthAndFold = 0, day = 0, hour = 0, minute = 0, second = 0, ...us] =
    state.toBytes()
  const year = yearHigh * 256 + yearLow
  const month = monthAndFold & ~FOLD_BIT
  const microsecond = microsecondsFrom(us)
  if (!validDate(year, month, day) || !validTime(hour, minute, second, microsecond)) return undefined
  const fold = monthAndFold & FOLD_BIT ? 1 : 0
  return new PyDateTime(year, month, day, hour, minute, second, microsecond, fold, timezoneOrNull(tzinfo))
}

function dateFromState(args: readonly unknown[]): PyDate | undefined {
  const [state] = args
  if (args.length !== 1 || !(state instanceof ByteString) || state.length !== 4) return undefined
  const [yearHigh = 0, yearLow = 0, month = 0, day = 0] = state.toBytes()
  const year = yearHigh * 256 + yearLow
  return validDate(year, month, day) ? new PyDate(year, month, day) : undefined
}

/** The state bytes of a time: hour (+fold bit), minute, second, microseconds (3). */
function timeFromState(args: readonly unknown[]): PyTime | undefined {
  const [state, tzinfo] = args
  if (!(state instanceof ByteString) || state.length !== 6 || !optionalTimezone(args, tzinfo))
    return undefined
  const [hourAndFold = 0, minute = 0, second = 0, ...us] = state.toBytes()
  const hour = hourAndFold & ~FOLD_BIT
  const microsecond = microsecondsFrom(us)
  if (!validTime(hour, minute, second, microsecond)) return undefined
  const fold = hourAndFold & FOLD_BIT ? 1 : 0
  return new PyTime(hour, minute, second, microsecond, fold, timezoneOrNull(tzinfo))
}

/** Python pickles a timedelta normalized: seconds within a day, microseconds within a second. */
function timedeltaFromFields(args: readonly unknown[]): PyTimedelta | undefined {
  const [days, seconds, microseconds] = args
  if (
    args.length !== 3 ||
    !isInt(days, -MAX_TIMEDELTA_DAYS, MAX_TIMEDELTA_DAYS) ||
    !isInt(seconds, 0, 86_399) ||
    !isInt(microseconds, 0, 999_999)
  ) {
    return undefined
  }
  return new PyTimedelta(days, seconds, microseconds)
}

/** Python keeps a timezone's offset strictly within a day either way. */
function timezoneFromOffset(args: readonly unknown[]): PyTimezone | undefined {
  const [offset, name] = args
  if (args.length < 1 || args.length > 2 || !(offset instanceof PyTimedelta)) return undefined
  if (args.length === 2 && typeof name !== 'string') return undefined
  const micros = offset.totalMicroseconds()
  const day = 86_400_000_000n
  if (micros <= -day || micros >= day) return undefined
  return new PyTimezone(offset, typeof name === 'string' ? name : null)
}

function pytzUtc(args: readonly unknown[]): PyTimezone | undefined {
  return args.length === 0 ? new PyTimezone(new PyTimedelta(0, 0, 0), 'UTC') : undefined
}

/** Protocols 0-2 write bytes as _codecs.encode(<the bytes as a latin-1 str>, 'latin1'). */
function bytesFromLatin1Text(args: readonly unknown[]): ByteString | undefined {
  const [text, encoding] = args
  if (args.length !== 2 || typeof text !== 'string' || encoding !== 'latin1') return undefined
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0xff) return undefined
    bytes[i] = code
  }
  return new ByteString(bytes)
}

function emptyBytes(args: readonly unknown[]): ByteString | undefined {
  return args.length === 0 ? new ByteString(new Uint8Array(0)) : undefined
}

/** Before protocol 5 a bytearray is bytearray() or bytearray(<bytes>). */
function bytearray(args: readonly unknown[]): ByteString | undefined {
  if (args.length === 0) return new ByteString(new Uint8Array(0))
  return args.length === 1 && args[0] instanceof ByteString ? args[0] : undefined
}

/** Three bytes, big-endian. */
function microsecondsFrom([high = 0, middle = 0, low = 0]: readonly number[]): number {
  return high * 65536 + middle * 256 + low
}

function optionalTimezone(args: readonly unknown[], tzinfo: unknown): boolean {
  return args.length === 1 || (args.length === 2 && tzinfo instanceof PyTimezone)
}

function timezoneOrNull(tzinfo: unknown): PyTimezone | null {
  return tzinfo instanceof PyTimezone ? tzinfo : null
}

function validDate(year: number, month: number, day: number): boolean {
  return (
    year >= 1 && year <= MAX_YEAR && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
  )
}

function validTime(hour: number, minute: number, second: number, microsecond: number): boolean {
  return hour < 24 && minute < 60 && second < 60 && microsecond < 1_000_000
}
