// Turns the raw request target into the one canonical file path every later decision uses.
//
// Why by hand and from the raw URL: nginx forwards the request line untouched (proxy_pass without a
// URI part), and Fastify's router would decode the wildcard for us, turning %2F into a separator and
// %00 into NUL before we could see them (docs/nginx-behaviour.md §5). So we split on literal '/',
// decode each segment exactly once, and refuse anything that is not a plain file name. Nothing here
// touches the file system: the answer depends on the request alone.

export type PathRefusal =
  | 'empty'
  | 'fragment'
  | 'raw-character'
  | 'bad-escape'
  | 'bad-utf8'
  | 'empty-segment'
  | 'dot-segment'
  | 'encoded-slash'
  | 'backslash'
  | 'control-character'
  | 'segment-too-long'
  | 'too-long'

export type CanonicalPath =
  | {
      readonly ok: true
      /** Decoded segments, exactly the bytes of the file names on disk. */
      readonly segments: readonly string[]
      /** '/' + segments joined: the path relative to the files root, for logs and delivery. */
      readonly path: string
      /** The same path in Unicode NFC: what ACL rules are matched against (see aclPath below). */
      readonly aclPath: string
    }
  | { readonly ok: false; readonly reason: PathRefusal }

/** Linux NAME_MAX, in bytes of UTF-8. */
export const MAX_SEGMENT_BYTES = 255
/** Linux PATH_MAX, in bytes of the raw request path. */
export const MAX_PATH_BYTES = 4096

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Canonicalises `rawTarget` (the request target as received, e.g. `/download/a%20b.pdf?x=1`) after
 * stripping `prefix` (e.g. `/download/`). The query string is dropped: rules never see it.
 */
export function canonicalizeRequestPath(rawTarget: string, prefix: string): CanonicalPath {
  if (!rawTarget.startsWith(prefix)) return refuse('empty')
  const queryAt = rawTarget.indexOf('?', prefix.length)
  const rawPath = queryAt === -1 ? rawTarget.slice(prefix.length) : rawTarget.slice(prefix.length, queryAt)
  if (rawPath.length === 0) return refuse('empty')
  if (rawPath.length > MAX_PATH_BYTES) return refuse('too-long')

  // One pass over the path, cutting at each '/' as it goes: no array of raw pieces to split into
  // and, when nothing was escaped, no join (the path is then the raw text itself). split and join
  // were most of this function's time in a profile of the gateway under load.
  const segments: string[] = []
  let anyEscape = false
  let asciiOnly = true
  let start = 0
  for (;;) {
    const slashAt = rawPath.indexOf('/', start)
    const end = slashAt === -1 ? rawPath.length : slashAt
    const raw = rawPath.slice(start, end)
    const decoded = decodeSegment(raw)
    if (typeof decoded !== 'string') return decoded
    // Only an escape changes a segment, and only an escape can make it non-ASCII.
    if (decoded !== raw) {
      anyEscape = true
      if (asciiOnly && !isAscii(decoded)) asciiOnly = false
    }
    segments.push(decoded)
    if (slashAt === -1) break
    start = slashAt + 1
  }
  const path = anyEscape ? `/${segments.join('/')}` : `/${rawPath}`
  // Two spellings of one name (NFC "é" and NFD "e" + U+0301) must get the same decision, or a deny
  // rule written in one form could be walked around with the other. The file itself is still
  // looked up by its exact bytes.
  const aclPath = asciiOnly ? path : path.normalize('NFC')
  return { ok: true, segments, path, aclPath }
}

function decodeSegment(raw: string): string | { ok: false; reason: PathRefusal } {
  if (raw.length === 0) return refuse('empty-segment')
  let hasEscape = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x25 /* % */) hasEscape = true
    else if (c === 0x5c /* \ */) return refuse('backslash')
    else if (c === 0x23 /* # */) return refuse('fragment')
    // A request target is ASCII; spaces, controls and raw 8-bit bytes mean a broken or hostile client.
    else if (c <= 0x20 || c >= 0x7f) return refuse('raw-character')
  }
  if (!hasEscape) {
    if (raw.length > MAX_SEGMENT_BYTES) return refuse('segment-too-long')
    if (raw === '.' || raw === '..') return refuse('dot-segment')
    // The loop above has already refused every character the decoded-name checks below look for.
    return raw
  }
  const bytes = percentDecode(raw)
  if (bytes === null) return refuse('bad-escape')
  let name: string
  try {
    // fatal: overlong forms (%c0%ae), surrogates and truncated sequences all throw.
    name = utf8.decode(bytes)
  } catch {
    return refuse('bad-utf8')
  }
  if (bytes.length > MAX_SEGMENT_BYTES) return refuse('segment-too-long')
  if (name === '.' || name === '..') return refuse('dot-segment')
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c === 0x2f) return refuse('encoded-slash')
    if (c === 0x5c) return refuse('backslash')
    // C0 controls (NUL, CR, LF...), DEL and C1 controls: never part of a name we will serve, and the
    // raw material of header injection.
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return refuse('control-character')
  }
  return name
}

function percentDecode(raw: string): Uint8Array | null {
  const out = new Uint8Array(raw.length)
  let n = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c !== 0x25) {
      out[n++] = c
      continue
    }
    const hi = hexValue(raw.charCodeAt(i + 1))
    const lo = hexValue(raw.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) return null
    out[n++] = (hi << 4) | lo
    i += 2
  }
  return out.subarray(0, n)
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

function refuse(reason: PathRefusal): { ok: false; reason: PathRefusal } {
  return { ok: false, reason }
}
