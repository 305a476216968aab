// Python's datetime values as the pickle decoder hands them out: frozen data with the fields Python
// has, and isoformat() written as Python writes it (so tests compare with Python's own output).
// Only fixed-offset time zones exist here (datetime.timezone): pytz and zoneinfo zones are pickled
// as calls to their own modules, which the decoder refuses.

const MICROS_PER_SECOND = 1_000_000
const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND

export class PyTimedelta {
  constructor(
    readonly days: number,
    readonly seconds: number,
    readonly microseconds: number,
  ) {
    Object.freeze(this)
  }

  /** Exact: Python's largest timedelta is about 8.6e19 microseconds, beyond a number's precision. */
  totalMicroseconds(): bigint {
    return (
      BigInt(this.days) * BigInt(MICROS_PER_DAY) +
      BigInt(this.seconds) * BigInt(MICROS_PER_SECOND) +
      BigInt(this.microseconds)
    )
  }
}

/** A fixed offset from UTC (datetime.timezone); Python keeps it strictly within a day. */
export class PyTimezone {
  constructor(
    readonly offset: PyTimedelta,
    readonly name: string | null,
  ) {
    Object.freeze(this)
  }

  /** The offset in microseconds: below a day, so exact as a number. */
  offsetMicroseconds(): number {
    return Number(this.offset.totalMicroseconds())
  }
}

export class PyDate {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
  ) {
    Object.freeze(this)
  }

  isoformat(): string {
    return formatDate(this.year, this.month, this.day)
  }
}

export class PyTime {
  constructor(
    readonly hour: number,
    readonly minute: number,
    readonly second: number,
    readonly microsecond: number,
    readonly fold: 0 | 1,
    readonly tzinfo: PyTimezone | null,
  ) {
    Object.freeze(this)
  }

  isoformat(): string {
    return formatTime(this.hour, this.minute, this.second, this.microsecond) + formatOffset(this.tzinfo)
  }
}

export class PyDateTime {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly hour: number,
    readonly minute: number,
    readonly second: number,
    readonly microsecond: number,
    readonly fold: 0 | 1,
    readonly tzinfo: PyTimezone | null,
  ) {
    Object.freeze(this)
  }

  isoformat(): string {
    return (
      `${formatDate(this.year, this.month, this.day)}T` +
      formatTime(this.hour, this.minute, this.second, this.microsecond) +
      formatOffset(this.tzinfo)
    )
  }

  /**
   * Milliseconds since 1970-01-01T00:00:00Z (microseconds cut off), or null for a naive datetime,
   * whose meaning depends on the app's local time zone.
   */
  epochMilliseconds(): number | null {
    if (this.tzinfo === null) return null
    const date = new Date(0)
    // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
    date.setUTCFullYear(this.year, this.month - 1, this.day)
    date.setUTCHours(this.hour, this.minute, this.second, 0)
    const localMicros = date.getTime() * 1000 + this.microsecond
    return Math.floor((localMicros - this.tzinfo.offsetMicroseconds()) / 1000)
  }
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

const pad = (value: number, width: number) => String(value).padStart(width, '0')

function formatDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`
}

function formatTime(hour: number, minute: number, second: number, microsecond: number): string {
  const base = `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`
  return microsecond === 0 ? base : `${base}.${pad(microsecond, 6)}`
}

// Python's _format_offset: +HH:MM, then :SS and .ffffff only when they are not zero.
function formatOffset(tzinfo: PyTimezone | null): string {
  if (tzinfo === null) return ''
  const total = tzinfo.offsetMicroseconds()
  const sign = total < 0 ? '-' : '+'
  const abs = Math.abs(total)
  const micros = abs % MICROS_PER_SECOND
  const wholeSeconds = (abs - micros) / MICROS_PER_SECOND
  const hours = Math.floor(wholeSeconds / 3600)
  const minutes = Math.floor((wholeSeconds % 3600) / 60)
  const seconds = wholeSeconds % 60
  let text = `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`
  if (seconds !== 0 || micros !== 0) {
    text += `:${pad(seconds, 2)}`
    if (micros !== 0) text += `.${pad(micros, 6)}`
  }
  return text
}
