import type { YEntry, YMap, YNode, YSeq } from './tree.js'

// A reader for the plain block-YAML that ACL files are written in: block maps and sequences,
// plain / single / double-quoted (no escapes) scalars, one-line flow lists, comments.
// The full `yaml` package needs ~40 µs per rule, i.e. seconds for 100,000 rules; this reader is
// ~50x faster. Whenever the text steps outside that subset (anchors, tags, multi-line scalars,
// escapes, `null`/`true`, tabs, CRLF, syntax errors, ...) it gives up and returns `undefined`,
// and the caller uses the full reader, which is also the one that reports syntax errors. So this
// reader never has to be right about anything it is unsure of; it only has to agree with the
// full reader on what it accepts (a property test checks that).

interface Line {
  readonly no: number
  readonly indent: number
  readonly content: string
}

class Unsupported extends Error {}

const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)/
const INT = /^[0-9]+$/
// Plain scalars the YAML 1.2 core schema resolves to null, a boolean or a non-plain number.
const NON_STRING =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$|^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^0o[0-7]+$|^0x[0-9a-fA-F]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/
// Characters that change meaning at the start of a plain scalar.
const INDICATOR = /^[-?:,[\]{}#&*!|>'"%@`]/

export function parseFastYaml(text: string): YNode | undefined {
  if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) return undefined
  const lines = splitLines(text)
  if (lines === undefined || lines.length === 0) return undefined
  const first = lines[0]
  if (first === undefined || first.indent !== 0) return undefined
  const reader = new Reader(lines)
  try {
    const root = reader.node(0)
    return reader.done() ? root : undefined
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
}

function splitLines(text: string): Line[] | undefined {
  const out: Line[] = []
  let start = 0
  let no = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    no++
    let i = start
    while (i < end && text.charCodeAt(i) === 32) i++
    if (i < end && text.charCodeAt(i) !== 35 /* # */) {
      const content = text.slice(i, end)
      if (i === start && (content.startsWith('---') || content.startsWith('...') || content[0] === '%')) {
        return undefined
      }
      out.push({ no, indent: i - start, content })
    }
    start = end + 1
  }
  return out
}

class Reader {
  private pos = 0
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.pos === this.lines.length
  }

  node(minIndent: number): YNode {
    const line = this.lines[this.pos]
    if (line === undefined || line.indent < minIndent) throw new Unsupported()
    if (isDash(line.content)) return this.seq(line.indent)
    if (KEY.test(line.content)) return this.map(line.indent)
    throw new Unsupported()
  }

  private seq(indent: number): YSeq {
    const items: YNode[] = []
    const startLine = this.lines[this.pos]?.no ?? 0
    for (let line = this.lines[this.pos]; line !== undefined; line = this.lines[this.pos]) {
      if (line.indent !== indent || !isDash(line.content)) break
      let k = 1
      while (line.content.charCodeAt(k) === 32) k++
      const rest = line.content.slice(k)
      if (rest === '' || rest[0] === '#') {
        this.pos++
        items.push(this.node(indent + 1))
      } else if (KEY.test(rest)) {
        // `- key: value` opens a map whose column is that of `key`.
        this.lines[this.pos] = { no: line.no, indent: indent + k, content: rest }
        items.push(this.map(indent + k))
      } else {
        items.push(inlineValue(rest, line.no))
        this.pos++
      }
    }
    return { kind: 'seq', line: startLine, items }
  }

  private map(indent: number): YMap {
    const entries: YEntry[] = []
    const seen = new Set<string>()
    const startLine = this.lines[this.pos]?.no ?? 0
    for (let line = this.lines[this.pos]; line !== undefined; line = this.lines[this.pos]) {
      if (line.indent !== indent) break
      const m = KEY.exec(line.content)
      if (m === null) break
      const key = m[1] as string
      if (seen.has(key)) throw new Unsupported() // the full reader reports duplicate keys
      seen.add(key)
      const rest = line.content.slice(m[0].length)
      let value: YNode
      if (rest === '' || rest[0] === '#') {
        this.pos++
        const next = this.lines[this.pos]
        if (next !== undefined && next.indent > indent) value = this.node(indent + 1)
        else if (next !== undefined && next.indent === indent && isDash(next.content))
          value = this.seq(indent)
        else throw new Unsupported() // an empty value (null): rare, let the full reader say it
      } else {
        value = inlineValue(rest, line.no)
        this.pos++
      }
      entries.push({ key, keyLine: line.no, value })
    }
    return { kind: 'map', line: startLine, entries }
  }
}

function isDash(content: string): boolean {
  return content === '-' || content.startsWith('- ')
}

function inlineValue(s: string, line: number): YNode {
  const c = s[0]
  if (c === '"' || c === "'") {
    const [value, end] = quoted(s, 0)
    expectEnd(s, end)
    return { kind: 'scalar', line, value }
  }
  if (c === '[') return flowSeq(s, line)
  const hash = s.indexOf(' #')
  const value = (hash === -1 ? s : s.slice(0, hash)).trimEnd()
  return { kind: 'scalar', line, value: plain(value) }
}

/** Returns the scalar and the index just past its closing quote. */
function quoted(s: string, start: number): [string, number] {
  const q = s[start]
  if (q === '"') {
    const end = s.indexOf('"', start + 1)
    if (end === -1) throw new Unsupported()
    const body = s.slice(start + 1, end)
    if (body.includes('\\')) throw new Unsupported()
    return [body, end + 1]
  }
  let out = ''
  let i = start + 1
  for (;;) {
    const end = s.indexOf("'", i)
    if (end === -1) throw new Unsupported()
    out += s.slice(i, end)
    if (s[end + 1] === "'") {
      out += "'"
      i = end + 2
    } else {
      return [out, end + 1]
    }
  }
}

function flowSeq(s: string, line: number): YSeq {
  const items: YNode[] = []
  let i = skipSpaces(s, 1)
  if (s[i] === ']') {
    expectEnd(s, i + 1)
    return { kind: 'seq', line, items }
  }
  for (;;) {
    i = skipSpaces(s, i)
    const c = s[i]
    if (c === '"' || c === "'") {
      const [value, end] = quoted(s, i)
      items.push({ kind: 'scalar', line, value })
      i = end
    } else {
      let end = i
      while (end < s.length && s[end] !== ',' && s[end] !== ']') end++
      const text = s.slice(i, end).trim()
      if (text === '' || /[[\]{}#]/.test(text)) throw new Unsupported()
      items.push({ kind: 'scalar', line, value: plain(text) })
      i = end
    }
    i = skipSpaces(s, i)
    if (s[i] === ']') {
      expectEnd(s, i + 1)
      return { kind: 'seq', line, items }
    }
    if (s[i] !== ',') throw new Unsupported()
    i = skipSpaces(s, i + 1)
    if (s[i] === ']') throw new Unsupported() // trailing comma
  }
}

function plain(value: string): string | number {
  if (value === '' || INDICATOR.test(value) || value.includes(': ') || value.endsWith(':')) {
    throw new Unsupported()
  }
  if (INT.test(value)) return Number(value)
  if (NON_STRING.test(value)) throw new Unsupported()
  return value
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++
  return i
}

/** After a complete value only spaces and a comment may follow. */
function expectEnd(s: string, i: number): void {
  const j = skipSpaces(s, i)
  if (j < s.length && !(s[j] === '#' && j > i)) throw new Unsupported()
}
