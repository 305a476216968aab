// Where a browser goes after logging in, in both directions, so that the gateway is never an open
// redirect:
// - out (the redirect to the login page): the return URL is built here from the download's
//   canonical path segments and the configured public origin, never from the raw request target,
//   Host or X-Forwarded-Host;
// - back (the built-in login's `next`): a value the browser brings back is accepted only as a path
//   under the download prefix that canonicalises cleanly, or an absolute http(s) URL on an allowed
//   origin, and is rebuilt before it is used. Anything else is dropped, never "repaired".
import { canonicalizeRequestPath } from '../paths/canonical-path.js'

/** The download at these canonical segments, as a URL (relative unless a public origin is given). */
export function returnUrlFor(
  segments: readonly string[],
  routePrefix: string,
  publicOrigin?: string,
): string {
  // encodeURIComponent leaves no '/', '\', '?', '#', space or control character in a segment.
  return `${publicOrigin ?? ''}${routePrefix}${segments.map(encodeURIComponent).join('/')}`
}

/** `loginUrl` with `returnUrl` in its query parameter `param`; relative when loginUrl is. */
export function loginLocation(loginUrl: string, param: string, returnUrl: string): string {
  const absolute = /^https?:\/\//i.test(loginUrl)
  const url = new URL(loginUrl, 'http://gateway.invalid')
  url.searchParams.set(param, returnUrl)
  return absolute ? url.href : `${url.pathname}${url.search}`
}

export interface ReturnTargetRules {
  readonly routePrefix: string
  /** Origins (`https://app.example.com`) an absolute return target may be on. */
  readonly allowedOrigins: readonly string[]
}

/** Longer than any download path the gateway accepts, with room for an origin. */
const MAX_RETURN_TARGET = 4096 + 256

/**
 * `raw` as a return target the login may redirect to, rebuilt; undefined when it is not one.
 * Only printable ASCII: a CR or LF (header injection), a tab or newline (which URL parsers drop,
 * turning `java\nscript:` into `javascript:`) and every byte outside ASCII are refused outright.
 */
export function checkedReturnTarget(raw: unknown, rules: ReturnTargetRules): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RETURN_TARGET) return undefined
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('\\')) return undefined
  if (raw.startsWith('/')) return checkedPath(raw, rules.routePrefix)
  return checkedAbsolute(raw, rules.allowedOrigins)
}

function checkedPath(raw: string, routePrefix: string): string | undefined {
  // `//host` is a URL on another host (scheme-relative), whatever follows.
  if (raw.startsWith('//')) return undefined
  // The query and fragment are not kept: a download's return URL never has one.
  if (raw.includes('?') || raw.includes('#')) return undefined
  // The download route's own canonicalisation: `..`, `%2e%2e`, `%2F`, `//` inside, NUL, a bad
  // escape or bad UTF-8 are all refused, exactly as the download itself would refuse them.
  const canonical = canonicalizeRequestPath(raw, routePrefix)
  if (!canonical.ok) return undefined
  return returnUrlFor(canonical.segments, routePrefix)
}

function checkedAbsolute(raw: string, allowedOrigins: readonly string[]): string | undefined {
  // Written out in full: `https:evil.example` and `https:/evil.example` parse as URLs too.
  if (!/^https?:\/\/[^/]/i.test(raw)) return undefined
  if (!URL.canParse(raw)) return undefined
  const url = new URL(raw)
  if (url.username !== '' || url.password !== '') return undefined
  if (!allowedOrigins.includes(url.origin)) return undefined
  return url.href
}
