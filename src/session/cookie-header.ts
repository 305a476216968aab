// One cookie out of a Cookie header, without parsing the others: the download route needs only the
// session cookie, and a browser sends every cookie of the domain (analytics, preferences...) on
// every request. Same reading as @fastify/cookie (the `cookie` package): pairs split on ';', name
// and value trimmed of spaces and tabs, pairs without '=' skipped, the first pair with the name
// wins, and a value with '%' is URI-decoded (kept as is when that fails). The two steps are apart:
// the session cookie's verifier remembers values as sent and decodes only the ones it has not seen.

/** The cookie's value as the header carries it, not yet URI-decoded. */
export function readSentCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const len = header.length
  let start = 0
  while (start < len) {
    let end = header.indexOf(';', start)
    if (end === -1) end = len
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && trimmedEquals(header, start, eq, name)) {
      return trim(header, eq + 1, end)
    }
    start = end + 1
  }
  return undefined
}

function trimmedEquals(s: string, from: number, to: number, name: string): boolean {
  while (from < to && isBlank(s.charCodeAt(from))) from++
  while (to > from && isBlank(s.charCodeAt(to - 1))) to--
  return to - from === name.length && s.startsWith(name, from)
}

function trim(s: string, from: number, to: number): string {
  while (from < to && isBlank(s.charCodeAt(from))) from++
  while (to > from && isBlank(s.charCodeAt(to - 1))) to--
  return s.slice(from, to)
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09
}

/** A cookie value URI-decoded when it has a '%', kept as it is when that fails. */
export function decodeCookieValue(value: string): string {
  if (value.indexOf('%') === -1) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
