// The headers of an allowed download. Pure: the route decides, this only formats.
import mime from 'mime'
import { formatContentDisposition } from './content-disposition.js'

export interface DeliveryPolicy {
  readonly disposition: 'attachment' | 'inline'
  readonly limitRate: number
  readonly cacheControl: string
}

export const FALLBACK_CONTENT_TYPE = 'application/octet-stream'

// mime runs two regular expressions over the name for every lookup, yet for a name without a '/'
// its answer depends only on the text after the last dot (the whole name when there is none), and
// a site serves a handful of those: each is looked up once. Bounded, for sites with many.
const typeByExtension = new Map<string, string>()
const TYPE_MEMO_MAX = 1000

/** mime's type for a file name (one path segment), else application/octet-stream. */
export function contentTypeFor(fileName: string): string {
  const extension = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase()
  let type = typeByExtension.get(extension)
  if (type === undefined) {
    type = mime.getType(fileName) ?? FALLBACK_CONTENT_TYPE
    if (typeByExtension.size < TYPE_MEMO_MAX) typeByExtension.set(extension, type)
  }
  return type
}

/** Headers every allowed reply carries, whichever mode delivers the bytes, as name/value pairs. */
export function downloadHeaderList(segments: readonly string[], policy: DeliveryPolicy): string[] {
  const fileName = segments[segments.length - 1] as string
  return [
    // Always explicit: an empty reply would otherwise carry no type, and nginx would keep whatever
    // the gateway sent (docs/nginx-behaviour.md §2).
    'content-type',
    contentTypeFor(fileName),
    'content-disposition',
    formatContentDisposition(policy.disposition, fileName),
    'cache-control',
    policy.cacheControl,
  ]
}

/**
 * The names an x-accel reply gives the download's Content-Disposition and Cache-Control. nginx
 * copies a gateway's Content-Disposition and Cache-Control to whatever it answers after the
 * X-Accel-Redirect, its own error pages included (docs/nginx-behaviour.md §2): a missing
 * or unreadable file would reach the browser as an HTML error page saved under the file's name,
 * and a rule's `public, max-age` would let caches keep the 404. Under these names the values do
 * not survive the redirect; the internal location puts them back with `add_header` without
 * `always`, which nginx applies only to successful answers (200, 206, 304), never to an error.
 * nginx/templates/download.conf.template reads exactly these names.
 */
export const ACCEL_DISPOSITION_HEADER = 'x-download-disposition'
export const ACCEL_CACHE_CONTROL_HEADER = 'x-download-cache-control'

/**
 * The X-Accel-Redirect value. nginx splits at the first literal '?' and then percent-decodes once
 * (docs/nginx-behaviour.md §3), so every segment is percent-encoded: '?', '#', '%' and '+'
 * in names survive, and a name like '%2e%2e' reaches the disk as those literal characters. The
 * value always starts with '/<prefix>/', never '@' and never a relative path.
 */
export function accelRedirectTarget(internalPrefix: string, segments: readonly string[]): string {
  let out = `/${internalPrefix}`
  for (const segment of segments) out += `/${encodeURIComponent(segment)}`
  return out
}

/**
 * Every header of an allowed x-accel reply, in the order they are set: X-Accel-Redirect is always
 * last, so a writer that stops early never sends it without the rest.
 */
export function accelReplyHeaders(
  internalPrefix: string,
  segments: readonly string[],
  policy: DeliveryPolicy,
): string[] {
  const list = accelHeadersBeforeRedirect(segments, policy)
  list.push('x-accel-redirect', accelRedirectTarget(internalPrefix, segments))
  return list
}

/** The reply's headers up to, not including, X-Accel-Redirect: the caller adds its own last. */
export function accelHeadersBeforeRedirect(segments: readonly string[], policy: DeliveryPolicy): string[] {
  const fileName = segments[segments.length - 1] as string
  const list = [
    // Content-Type keeps its own name: nginx replaces it with text/html on every error page it
    // writes, and no directive could set it from a variable (add_header would send a second one).
    'content-type',
    contentTypeFor(fileName),
    ACCEL_DISPOSITION_HEADER,
    formatContentDisposition(policy.disposition, fileName),
    ACCEL_CACHE_CONTROL_HEADER,
    policy.cacheControl,
    // The reply has no body: Content-Length 0 keeps the upstream connection reusable without a
    // chunked terminator.
    'content-length',
    '0',
  ]
  if (policy.limitRate > 0) list.push('x-accel-limit-rate', String(policy.limitRate))
  return list
}
