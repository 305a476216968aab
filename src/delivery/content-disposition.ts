// Content-Disposition for a file name we do not control: an ASCII `filename` for old clients and
// an RFC 8187 `filename*` carrying the exact UTF-8 name for everyone else (RFC 6266 section 4.3).

/** RFC 8187 attr-char: the only bytes that may appear unescaped in an ext-value. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/

/** Names made only of attr-chars need no fallback and no escaping: most names, and the fast path. */
const PLAIN_NAME = /^[A-Za-z0-9!#$&+\-.^_`|~]+$/

export function formatContentDisposition(type: 'attachment' | 'inline', fileName: string): string {
  if (PLAIN_NAME.test(fileName)) return `${type}; filename="${fileName}"; filename*=UTF-8''${fileName}`
  return `${type}; filename="${asciiFallback(fileName)}"; filename*=UTF-8''${encodeExtValue(fileName)}`
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
