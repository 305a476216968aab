// Path globs: parsed, `{a,b}` expanded and compiled once at load into per-segment matchers.
//
// Semantics (the operator-facing summary is in src/acl/README.md):
// - anchored to the whole canonical path, case-sensitive, compared after Unicode NFC;
// - `*` any run of characters inside one segment (also a leading dot: no hidden-file rule);
// - `?` exactly one character, never `/`; `[abc]`, `[a-z]`, `[!a]` (or `[^a]`) one character;
//   a `]` right after `[` or `[!` is literal, so `[]]` matches `]` and `[*]` a literal star;
// - `**` must be a whole segment and matches zero or more segments, except as the last segment,
//   where it matches one or more: `/a/**` matches `/a/x` and `/a/x/y` but not `/a` (a directory);
//   `/a/**/b` matches `/a/b`;
// - `{a,b}` alternation, nestable, expanded at load (at most MAX_EXPANSIONS patterns);
// - `{user}` / `{group}` as a whole segment bind the requester's id / one of their groups.

export const LIT = 0
export const GLOB = 1
export const ANY = 2 // exactly one segment, any text
export const GLOBSTAR = 3
export const USER = 4
export const GROUP = 5

export interface Seg {
  readonly kind: number
  /** Literal text for LIT, glob text otherwise (used for display and containment checks). */
  readonly text: string
  readonly re: RegExp | null
}

export interface CompiledPattern {
  /** The expanded pattern, as shown in messages. */
  readonly source: string
  readonly segs: readonly Seg[]
  /** Number of leading literal segments: where the rule hangs in the index. */
  readonly prefixLen: number
  readonly minLen: number
  /** Largest number of path segments it can match; Infinity with `**`. */
  readonly maxLen: number
}

export type PatternResult =
  | { ok: true; patterns: CompiledPattern[] }
  | { ok: false; code: 'GW_ACL_BAD_PATTERN' | 'GW_ACL_UNKNOWN_PLACEHOLDER'; message: string }

export const MAX_EXPANSIONS = 256

type Tok =
  | { readonly t: 'ch'; readonly c: string }
  | { readonly t: 'class'; readonly re: string; readonly text: string }
  | { readonly t: 'star' }
  | { readonly t: 'q' }
  | { readonly t: 'ph'; readonly name: 'user' | 'group' }
  | { readonly t: 'slash' }
type Part = Tok | { readonly t: 'alt'; readonly options: Part[][] }

class PatternError extends Error {
  constructor(
    readonly code: 'GW_ACL_BAD_PATTERN' | 'GW_ACL_UNKNOWN_PLACEHOLDER',
    message: string,
  ) {
    super(message)
  }
}

const STAR: Tok = { t: 'star' }
const QMARK: Tok = { t: 'q' }
const SLASH: Tok = { t: 'slash' }

/**
 * Compiles one `path:` entry. `cache` shares compiled glob segments (`*.pdf`, ...) between the
 * patterns of one build so each distinct glob is turned into a RegExp once.
 */
export function compilePattern(raw: string, cache: Map<string, Seg> = new Map()): PatternResult {
  try {
    const text = raw.normalize('NFC')
    if (!text.startsWith('/') && !text.startsWith('{')) throw bad(`must start with '/'`)
    // Most patterns have no braces or classes: split them directly, no tokens (start-up time).
    if (!SPECIAL.test(text)) {
      const segs =
        text === '/'
          ? []
          : text
              .slice(1)
              .split('/')
              .map((p) => simpleSegment(p, cache))
      return { ok: true, patterns: [finish(text, segs)] }
    }
    const [parts] = parseSeq(text, 0, false)
    const patterns = expand(parts).map((toks) => compileExpanded(toks, cache))
    return { ok: true, patterns }
  } catch (err) {
    if (err instanceof PatternError) return { ok: false, code: err.code, message: err.message }
    throw err
  }
}

const SPECIAL = /[[\]{}]/

function simpleSegment(text: string, cache: Map<string, Seg>): Seg {
  if (text === '') throw bad(`empty segment ('//' or a trailing '/')`)
  if (!text.includes('*') && !text.includes('?')) {
    if (text === '.' || text === '..') throw bad(`a '${text}' segment is not allowed`)
    return { kind: LIT, text, re: null }
  }
  if (text === '**') return GLOBSTAR_SEG
  if (text.includes('**')) throw bad(`'**' must be a whole segment`)
  if (text === '*') return ANY_SEG
  let seg = cache.get(text)
  if (seg === undefined) {
    const re = escapeRe(text).replace(/\\\*/g, '[^/]*').replace(/\\\?/g, '[^/]')
    seg = { kind: GLOB, text, re: new RegExp(`^${re}$`, 'u') }
    cache.set(text, seg)
  }
  return seg
}

function escapeRe(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
}

function bad(message: string): PatternError {
  return new PatternError('GW_ACL_BAD_PATTERN', message)
}

/** Parses until the end, or inside braces until the `,` or `}` that ends this alternative. */
function parseSeq(s: string, start: number, inBrace: boolean): [Part[], number] {
  const out: Part[] = []
  let i = start
  while (i < s.length) {
    const c = s[i] as string
    if (inBrace && (c === ',' || c === '}')) return [out, i]
    if (c === '}') throw bad(`unbalanced '}' at character ${i + 1}`)
    if (c === '/') out.push(SLASH)
    else if (c === '*') out.push(STAR)
    else if (c === '?') out.push(QMARK)
    else if (c === '[') {
      const [tok, next] = parseClass(s, i)
      out.push(tok)
      i = next
      continue
    } else if (c === '{') {
      const [part, next] = parseBrace(s, i)
      out.push(part)
      i = next
      continue
    } else out.push({ t: 'ch', c })
    i++
  }
  return [out, i]
}

function parseBrace(s: string, open: number): [Part, number] {
  const options: Part[][] = []
  let i = open + 1
  for (;;) {
    const [seq, next] = parseSeq(s, i, true)
    options.push(seq)
    if (next >= s.length) throw bad(`unbalanced '{' at character ${open + 1}`)
    i = next + 1
    if (s[next] === '}') break
  }
  if (options.length > 1) return [{ t: 'alt', options }, i]
  const name = s.slice(open + 1, i - 1)
  if (name === 'user' || name === 'group') return [{ t: 'ph', name }, i]
  throw new PatternError(
    'GW_ACL_UNKNOWN_PLACEHOLDER',
    `unknown placeholder '{${name}}' (known: {user}, {group}; alternation needs a comma: {a,b})`,
  )
}

function parseClass(s: string, open: number): [Tok, number] {
  let i = open + 1
  let negate = false
  if (s[i] === '!' || s[i] === '^') {
    negate = true
    i++
  }
  const chars: string[] = []
  // A `]` first in the class is literal; the class ends at the next `]`.
  const close = s.indexOf(']', s[i] === ']' ? i + 1 : i)
  if (close === -1) throw bad(`unbalanced '[' at character ${open + 1}`)
  for (const ch of s.slice(i, close)) chars.push(ch)
  let re = ''
  for (let k = 0; k < chars.length; k++) {
    const a = chars[k] as string
    if (a === '/') throw bad(`a character class cannot hold '/'`)
    const b = chars[k + 2]
    if (chars[k + 1] === '-' && b !== undefined) {
      if ((a.codePointAt(0) as number) > (b.codePointAt(0) as number)) throw bad(`bad range '${a}-${b}'`)
      if (b === '/') throw bad(`a character class cannot hold '/'`)
      re += `${cp(a)}-${cp(b)}`
      k += 2
    } else {
      re += cp(a)
    }
  }
  // `/` is excluded so a negated class never crosses a segment.
  return [{ t: 'class', re: negate ? `[^/${re}]` : `[${re}]`, text: s.slice(open, close + 1) }, close + 1]
}

function cp(ch: string): string {
  return `\\u{${(ch.codePointAt(0) as number).toString(16)}}`
}

function expand(parts: Part[]): Tok[][] {
  let acc: Tok[][] = [[]]
  for (const part of parts) {
    if (part.t !== 'alt') {
      for (const a of acc) a.push(part)
      continue
    }
    const alternatives = part.options.flatMap(expand)
    if (acc.length * alternatives.length > MAX_EXPANSIONS) {
      throw bad(`alternation expands to more than ${MAX_EXPANSIONS} patterns`)
    }
    const next: Tok[][] = []
    for (const a of acc) for (const alt of alternatives) next.push([...a, ...alt])
    acc = next
  }
  return acc
}

function compileExpanded(toks: Tok[], cache: Map<string, Seg>): CompiledPattern {
  const source = toks.map(tokText).join('')
  if (toks[0]?.t !== 'slash') throw bad(`'${source}' does not start with '/'`)
  const raw: Tok[][] = []
  let cur: Tok[] = []
  for (let i = 1; i < toks.length; i++) {
    const tok = toks[i] as Tok
    if (tok.t === 'slash') {
      raw.push(cur)
      cur = []
    } else cur.push(tok)
  }
  if (toks.length > 1) raw.push(cur)
  return finish(
    source,
    raw.map((segToks) => compileSegment(segToks, cache)),
  )
}

function finish(source: string, compiled: Seg[]): CompiledPattern {
  const segs: Seg[] = []
  for (const seg of compiled) {
    // `/**/**` is the same as `/**`.
    if (seg.kind === GLOBSTAR && segs[segs.length - 1]?.kind === GLOBSTAR) continue
    segs.push(seg)
  }
  // A trailing `**` matches one or more segments: `/a/**` is not `/a` itself.
  if (segs[segs.length - 1]?.kind === GLOBSTAR) segs.splice(segs.length - 1, 0, ANY_SEG)
  let prefixLen = 0
  while (prefixLen < segs.length && segs[prefixLen]?.kind === LIT) prefixLen++
  let globstars = 0
  for (const s of segs) if (s.kind === GLOBSTAR) globstars++
  return {
    source,
    segs,
    prefixLen,
    minLen: segs.length - globstars,
    maxLen: globstars > 0 ? Number.POSITIVE_INFINITY : segs.length,
  }
}

const ANY_SEG: Seg = { kind: ANY, text: '*', re: null }
const GLOBSTAR_SEG: Seg = { kind: GLOBSTAR, text: '**', re: null }

function compileSegment(toks: Tok[], cache: Map<string, Seg>): Seg {
  if (toks.length === 0) throw bad(`empty segment ('//' or a trailing '/')`)
  const text = toks.map(tokText).join('')
  if (toks.every((t) => t.t === 'ch')) {
    const literal = text.normalize('NFC')
    if (literal === '.' || literal === '..') throw bad(`a '${literal}' segment is not allowed`)
    return { kind: LIT, text: literal, re: null }
  }
  if (text === '**') return GLOBSTAR_SEG
  if (text.includes('**')) throw bad(`'**' must be a whole segment`)
  const ph = toks.find((t) => t.t === 'ph')
  if (ph !== undefined) {
    if (toks.length > 1) throw bad(`a placeholder must be a whole segment`)
    return { kind: ph.name === 'user' ? USER : GROUP, text, re: null }
  }
  if (text === '*') return ANY_SEG
  const cached = cache.get(text)
  if (cached !== undefined) return cached
  let re = '^'
  for (const t of toks) {
    if (t.t === 'ch') re += escapeRe(t.c)
    else if (t.t === 'star') re += '[^/]*'
    else if (t.t === 'q') re += '[^/]'
    else if (t.t === 'class') re += t.re
  }
  const seg: Seg = { kind: GLOB, text, re: new RegExp(`${re}$`, 'u') }
  cache.set(text, seg)
  return seg
}

function tokText(t: Tok): string {
  switch (t.t) {
    case 'ch':
      return t.c
    case 'class':
      return t.text
    case 'star':
      return '*'
    case 'q':
      return '?'
    case 'ph':
      return `{${t.name}}`
    case 'slash':
      return '/'
  }
}
