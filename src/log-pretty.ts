// The log for a person at a terminal: one line per event (time, level, message, then the fields as
// key=value), the decision line laid out as status, method, path and code first.
//
// Chosen only on a terminal or on request (logger.ts): production keeps the JSON lines, which never
// pass through here, so this JSON.parse per line costs the serving path nothing.
// Why our own and not pino-pretty: our lines have a few known shapes and read better laid out for
// them than as a generic object, and pino-pretty would add 13 packages to every production install
// for a view only development uses.
// Every value is printed escaped: paths in log lines come from clients, and a raw control character
// (ESC, or C1's CSI) would drive the terminal.

export interface LineWriter {
  write(line: string): boolean
  flush(cb?: (err?: Error) => void): void
  flushSync(): void
}

/** A pino destination that formats each JSON line for a person, then hands it to `out`. */
export class PrettyLines implements LineWriter {
  readonly #out: LineWriter
  readonly #colour: boolean

  constructor(out: LineWriter, colour: boolean) {
    this.#out = out
    this.#colour = colour
  }

  write(chunk: string): boolean {
    let text = ''
    for (const line of chunk.split('\n')) if (line.length > 0) text += `${prettyLine(line, this.#colour)}\n`
    return this.#out.write(text)
  }

  flush(cb?: (err?: Error) => void): void {
    this.#out.flush(cb)
  }

  flushSync(): void {
    this.#out.flushSync()
  }
}

const LEVELS: Record<number, [name: string, colour: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '34'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '41;97'],
}
// Shown by the line's own layout, or the same on every line.
const LAYOUT_KEYS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname'])
const DECISION_KEYS = new Set(['status', 'method', 'path', 'code'])
// A nested value longer than this is shown as {…}: one line per event; the JSON format keeps it all.
const NESTED_MAX = 80

/** One JSON log line as one line of text (no newline); a line that is not JSON is only escaped. */
export function prettyLine(json: string, colour: boolean): string {
  let record: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(json)
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return escapeText(json)
    record = parsed as Record<string, unknown>
  } catch {
    return escapeText(json)
  }
  const paint = (codes: string, text: string) => (colour ? `\x1b[${codes}m${text}\x1b[0m` : text)
  const [levelName, levelColour] = LEVELS[record.level as number] ?? [String(record.level).padEnd(5), '0']
  const parts = [paint('2', clock(record.time)), paint(levelColour, levelName)]

  const isDecision = record.msg === 'decision' && typeof record.status === 'number'
  if (isDecision) {
    const status = record.status as number
    const statusColour = status >= 500 ? '31' : status >= 400 ? '33' : status >= 300 ? '36' : '32'
    parts.push(paint(statusColour, String(status)))
    for (const key of ['method', 'path', 'code'])
      if (record[key] !== undefined) parts.push(value(record[key]))
  } else if (record.msg !== undefined) {
    parts.push(typeof record.msg === 'string' ? escapeText(record.msg) : value(record.msg))
  }
  let stack = ''
  for (const [key, v] of Object.entries(record)) {
    if (LAYOUT_KEYS.has(key) || (isDecision && DECISION_KEYS.has(key))) continue
    // Already in the message (the listening line's url): said once is enough for a reader.
    if (typeof v === 'string' && v.length >= 8 && typeof record.msg === 'string' && record.msg.includes(v))
      continue
    if (key === 'err' && isErrorLike(v)) {
      parts.push(`${paint('2', 'err=')}${value(v.message)}`)
      // A stack is the one thing worth more than a line: it only comes with a bug.
      if (typeof v.stack === 'string')
        stack = v.stack
          .split('\n')
          .slice(1)
          .map((l) => `\n    ${escapeText(l.trim())}`)
          .join('')
      continue
    }
    parts.push(`${paint('2', `${escapeText(key)}=`)}${value(v)}`)
  }
  return parts.join(' ') + stack
}

function isErrorLike(v: unknown): v is { message: unknown; stack?: unknown } {
  return v !== null && typeof v === 'object' && 'message' in v
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date()
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`
}

function value(v: unknown): string {
  if (typeof v === 'string')
    return /^[\x21-\x7e]+$/.test(v) && !/["=]/.test(v) ? v : escapeText(JSON.stringify(v))
  if (v === null || typeof v !== 'object') return String(v)
  const text = JSON.stringify(v)
  if (text.length <= NESTED_MAX) return escapeText(text)
  return Array.isArray(v) ? `[…${v.length}]` : '{…}'
}

// C0 and C1 controls, DEL, and the Unicode line separators and direction overrides that could
// break or disguise a line. JSON.stringify escapes C0 only.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/g

function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
