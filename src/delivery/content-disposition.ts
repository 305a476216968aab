// Content-Disposition for a file name we do not control: an ASCII `filename` for old clients and
// an RFC 8187 `filename*` carrying the exact UTF-8 name for everyone else (RFC 6266 section 4.3).
// Both are shortened to a length every browser keeps (docs/file-names.md).

/** RFC 8187 attr-char: the only bytes that may appear unescaped in an ext-value. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/

/** Names made only of attr-chars need no fallback and no escaping: most names, and the fast path. */
const PLAIN_NAME = /^[A-Za-z0-9!#$&+\-.^_`|~]+$/

/**
 * The longest name, in bytes of UTF-8, a download may suggest. Linux names hold 255 bytes (the
 * gateway serves names that long), but Chromium saves into `<name>.crdownload` (11 bytes more) and
 * adds ` (1)` (4 bytes) when the name is taken, and silently drops a download whose name does not
 * fit: 255 - 11 - 4.
 */
export const MAX_SUGGESTED_NAME_BYTES = 240

/** Longer than this, what follows the last dot is not an extension worth keeping (`a.b c d...`). */
const MAX_EXTENSION_BYTES = 32

export function formatContentDisposition(type: 'attachment' | 'inline', fileName: string): string {
  if (PLAIN_NAME.test(fileName) && fileName.length <= MAX_SUGGESTED_NAME_BYTES) {
    return `${type}; filename="${fileName}"; filename*=UTF-8''${fileName}`
  }
  const fallback = shortenFileName(asciiFallback(fileName))
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(shortenFileName(fileName))}`
}

/**
 * A quoted-string safe stand-in: accents dropped where the letter survives decomposition ("café"
 * becomes "cafe"), anything else outside printable ASCII, and the characters that quoted-string or
 * some browsers treat specially (`"`, `\`, `%`), become `_`.
 */
export function asciiFallback(fileName: string): string {
  const decomposed = fileName.normalize('NFKD')
  let out = ''
  for (const ch of decomposed) {
    const c = ch.codePointAt(0) as number
    if (c >= 0x300 && c <= 0x36f) continue // combining marks left over from decomposition
    if (c < 0x20 || c > 0x7e || ch === '"' || ch === '\\' || ch === '%') out += '_'
    else out += ch
  }
  return out.length > 0 ? out : 'download'
}

const utf8 = new TextEncoder()
const graphemes = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined) : undefined

/**
 * `fileName` if it fits in `maxBytes` of UTF-8; otherwise its start, cut between two characters
 * (between two graphemes where Intl.Segmenter is there: "é" spelt e + U+0301 stays whole), followed
 * by its extension, so the saved file still opens with the right program.
 */
export function shortenFileName(fileName: string, maxBytes = MAX_SUGGESTED_NAME_BYTES): string {
  if (fileName.length <= maxBytes / 3 || utf8.encode(fileName).length <= maxBytes) return fileName
  const dot = fileName.lastIndexOf('.')
  let extension = dot > 0 ? fileName.slice(dot) : ''
  if (utf8.encode(extension).length > MAX_EXTENSION_BYTES) extension = ''
  const stem = extension === '' ? fileName : fileName.slice(0, dot)
  return cutToBytes(stem, maxBytes - utf8.encode(extension).length) + extension
}

/** The longest start of `text` that is whole graphemes (else whole code points) within `budget` bytes. */
function cutToBytes(text: string, budget: number): string {
  let kept = ''
  let used = 0
  const units = graphemes ? Array.from(graphemes.segment(text), (s) => s.segment) : text
  for (const unit of units) {
    const size = utf8.encode(unit).length
    if (used + size > budget) {
      // One grapheme longer than what is left (a letter under dozens of combining marks): keep
      // what fits of it, whole code points, rather than nothing.
      return kept === '' ? cutCodePoints(unit, budget) : kept
    }
    kept += unit
    used += size
  }
  return kept
}

function cutCodePoints(text: string, budget: number): string {
  let kept = ''
  let used = 0
  for (const ch of text) {
    const size = utf8.encode(ch).length
    if (used + size > budget) break
    kept += ch
    used += size
  }
  return kept
}

export function encodeExtValue(value: string): string {
  let out = ''
  for (const ch of value) {
    if (ATTR_CHAR.test(ch)) {
      out += ch
      continue
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
