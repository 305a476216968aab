// Edge links, checked by nginx alone (njs 0.7.8 or later): signature, key, expiry and path, then
// the file goes out from an internal location. The gateway issues these links
// (src/credentials/links/edge-link.ts) and is never asked when one is used.
//
// The request's path is read from $request_uri, as the client sent it, and put through the same
// rules the gateway canonicalises download paths with (src/paths/canonical-path.ts): a segment is
// decoded once and must be a plain file name (no `.`/`..`, no empty segment, no encoded `/`, no
// backslash or control character, valid UTF-8). nginx's own normalised $uri must then name the very
// same file, and so must the link: anything else is refused, nothing is re-interpreted.
//
// The check is one `js_set` variable, $edge_link_verdict, read by the edge location's `if`s: `ok`, or
// the status to refuse with (the body in $edge_link_body). The file then goes out from that same
// location, with no js_content handler and no internal redirect: each costs nginx microseconds per
// download (bench/NOTES.md). Refusals answer with the gateway's JSON body and reason codes, so a
// client cannot tell which of the two refused it. The keys come from `js_preload_object edge_link_keys from <file>`: read by
// the master when the configuration is loaded, so rotation is "edit the file, reload nginx".
const crypto = require('crypto')

const PREFIX = '/edge/'
const TOKEN = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{1,8192})\.([A-Za-z0-9_-]{43})$/
// The common request in one match: a path of plain names (no `%`, nothing the slow path would
// decode or refuse) and the one parameter, whose MAC ends in a character with its two spare bits
// zero (the one spelling of 32 bytes). Whatever it does not match goes the slow way, which also
// names the reason of a refusal; so this pattern decides nothing the slow path would decide
// otherwise, it only skips work.
const PLAIN =
  /^\/edge((?:\/[A-Za-z0-9!$&'()*+,;=:@._~-]{1,255})+)\?gwe=([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{1,8192})\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/
const ESCAPE = /%[0-9A-Fa-f]{2}/g
const MAX_PATH_BYTES = 4096
const MAX_SEGMENT_BYTES = 255
const MIN_SECRET_LENGTH = 32

const REFUSALS = {
  method: [405, 'GW_ERR_METHOD', 'Method not allowed'],
  'too-long': [414, 'GW_ERR_PATH_TOO_LONG', 'Download path too long'],
  malformed: [401, 'GW_ERR_LINK_MALFORMED', 'Invalid download link'],
  'unknown-key': [401, 'GW_ERR_LINK_UNKNOWN_KEY', 'Invalid download link'],
  'bad-signature': [401, 'GW_ERR_LINK_BAD_SIGNATURE', 'Invalid download link'],
  'wrong-path': [403, 'GW_ERR_LINK_WRONG_PATH', 'This link is for another file'],
  expired: [410, 'GW_ERR_LINK_EXPIRED', 'This download link has expired'],
}

/** The refusal's status for $edge_link_verdict; its headers and body are set here. */
function refuse(r, why) {
  const known = REFUSALS[why]
  // Any other reason is a path refusal, named as the gateway names it.
  const status = known ? known[0] : 400
  const code = known ? known[1] : 'GW_ERR_BAD_PATH'
  const message = known ? known[2] : `Bad download path (${why})`
  r.headersOut['Content-Type'] = 'application/json; charset=utf-8'
  r.headersOut['Cache-Control'] = 'no-store'
  if (status === 405) r.headersOut.Allow = 'GET, HEAD'
  r.variables.edge_link_body = JSON.stringify({ statusCode: status, code: code, message: message })
  return String(status)
}

/** The canonical path of `raw` (the request path below the prefix), or { why } when refused. */
function canonicalPath(raw) {
  if (raw.length === 0) return { why: 'empty' }
  if (raw.length > MAX_PATH_BYTES) return { why: 'too-long' }
  const parts = raw.split('/')
  const names = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    if (part.length === 0) return { why: 'empty-segment' }
    let escaped = false
    for (let j = 0; j < part.length; j++) {
      const c = part.charCodeAt(j)
      if (c === 0x25) escaped = true
      else if (c === 0x5c) return { why: 'backslash' }
      else if (c === 0x23) return { why: 'fragment' }
      else if (c <= 0x20 || c >= 0x7f) return { why: 'raw-character' }
    }
    let name = part
    if (escaped) {
      const escapes = (part.match(ESCAPE) || []).length
      // Every `%` must start an escape; what is left is plain ASCII, one byte a character.
      if (part.split('%').length - 1 !== escapes) return { why: 'bad-escape' }
      try {
        // Throws on overlong forms, surrogates and truncated sequences, as a strict
        // UTF-8 decoder does.
        name = decodeURIComponent(part)
      } catch (_e) {
        return { why: 'bad-utf8' }
      }
      if (part.length - 2 * escapes > MAX_SEGMENT_BYTES) return { why: 'segment-too-long' }
    } else if (part.length > MAX_SEGMENT_BYTES) {
      return { why: 'segment-too-long' }
    }
    if (name === '.' || name === '..') return { why: 'dot-segment' }
    for (let k = 0; k < name.length; k++) {
      const d = name.charCodeAt(k)
      if (d === 0x2f) return { why: 'encoded-slash' }
      if (d === 0x5c) return { why: 'backslash' }
      if (d < 0x20 || (d >= 0x7f && d <= 0x9f)) return { why: 'control-character' }
    }
    names.push(name)
  }
  return { path: `/${names.join('/')}` }
}

function keyFor(kid) {
  const keys = typeof edge_link_keys === 'object' && edge_link_keys !== null ? edge_link_keys.keys : null
  if (!Array.isArray(keys)) return null
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    if (key && key.kid === kid && typeof key.secret === 'string' && key.secret.length >= MIN_SECRET_LENGTH)
      return key.secret
  }
  return null
}

/** Compares two 32-byte MACs in time that does not depend on where they differ. */
function sameMac(a, b) {
  if (a.length !== 32 || b.length !== 32) return false
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/** The signed claims of a link already split into its parts, or { why }. */
function verifyParts(kid, payload, macText, nowSeconds) {
  const secret = keyFor(kid)
  if (secret === null) return { why: 'unknown-key' }
  const given = Buffer.from(macText, 'base64url')
  const expected = crypto.createHmac('sha256', secret).update(`gwe1.${kid}.${payload}`).digest()
  if (!sameMac(given, expected)) return { why: 'bad-signature' }
  let claims
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  } catch (_e) {
    return { why: 'malformed' }
  }
  if (claims === null || typeof claims !== 'object') return { why: 'malformed' }
  if (typeof claims.p !== 'string' || typeof claims.e !== 'number') return { why: 'malformed' }
  if (typeof claims.t !== 'string' || typeof claims.d !== 'string' || typeof claims.c !== 'string')
    return { why: 'malformed' }
  if (claims.r !== undefined && (typeof claims.r !== 'number' || claims.r < 1)) return { why: 'malformed' }
  if (claims.e <= nowSeconds) return { why: 'expired' }
  return { claims: claims }
}

/** The signed claims in `token`, or { why }. */
function verify(token, nowSeconds) {
  const m = TOKEN.exec(token)
  if (!m) return { why: 'malformed' }
  if (keyFor(m[1]) === null) return { why: 'unknown-key' }
  const given = Buffer.from(m[3], 'base64url')
  // 43 characters may carry stray low bits: only the one spelling of the MAC is accepted.
  if (given.length !== 32 || given.toString('base64url') !== m[3]) return { why: 'malformed' }
  return verifyParts(m[1], m[2], m[3], nowSeconds)
}

/** `ok` with the download's headers set, or the status of the refusal (see refuse). */
function verdict(r) {
  if (r.method !== 'GET' && r.method !== 'HEAD') return refuse(r, 'method')
  const target = r.variables.request_uri
  const plain = PLAIN.exec(target)
  let checked
  let path
  // The same limits as the slow path: the path below the prefix, and no `.` or `..` name.
  if (plain && plain[1].length - 1 <= MAX_PATH_BYTES && !DOT_SEGMENT.test(plain[1])) {
    path = plain[1]
    if (r.uri !== PREFIX.slice(0, -1) + path) return refuse(r, 'non-canonical')
    checked = verifyParts(plain[2], plain[3], plain[4], Math.floor(Date.now() / 1000))
  } else {
    const q = target.indexOf('?')
    const rawPath = q === -1 ? target : target.slice(0, q)
    // $request_uri is what the client sent; an absolute-form or otherwise odd target is not ours.
    if (rawPath.slice(0, PREFIX.length) !== PREFIX) return refuse(r, 'empty')
    const canonical = canonicalPath(rawPath.slice(PREFIX.length))
    if (canonical.why) return refuse(r, canonical.why)
    path = canonical.path
    // What nginx itself made of the request must be the same file, or the check above and the
    // file sent could disagree.
    if (r.uri !== PREFIX.slice(0, -1) + path) return refuse(r, 'non-canonical')
    const query = q === -1 ? '' : target.slice(q + 1)
    // Exactly one parameter: a link with anything added to it or given twice is not the link issued.
    if (query.slice(0, 4) !== 'gwe=' || query.indexOf('&') !== -1) return refuse(r, 'malformed')
    checked = verify(query.slice(4), Math.floor(Date.now() / 1000))
  }
  if (checked.why) return refuse(r, checked.why)
  const claims = checked.claims
  if (claims.p !== path) return refuse(r, 'wrong-path')
  // add_header without `always` sends these on success only, as the gateway's own x-accel
  // downloads do; nginx writes its own Content-Type on error pages.
  r.headersOut['Content-Type'] = claims.t
  r.variables.edge_link_disposition = claims.d
  r.variables.edge_link_cache_control = claims.c
  if (claims.r) r.variables.limit_rate = String(claims.r)
  return 'ok'
}

export default { verdict }
