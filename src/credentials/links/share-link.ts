// Share links: one file or one folder, an expiry, the issuer and an optional download limit,
// signed with HMAC-SHA256. Pure: no clock but the `now` passed in, no store (revocation and counts
// live in the credential store, asked after the link itself checks out).
//
// Wire form, in the query of the download URL (`/download/<path>?gwl=<token>`):
//
//   <kid>.<payload>.<mac>
//
// payload: base64url of a small JSON object; mac: base64url of HMAC-SHA256(key[kid],
// `gwl1.<kid>.<payload>`). The MAC is checked before the payload is parsed, so nothing an attacker
// wrote is ever decoded unless a key holder signed it. Every character is URL-safe: no escaping.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { BoundedMemo } from '../../bounded-memo.js'
import { canonicalizeRequestPath } from '../../paths/canonical-path.js'
import type { LinkKeyRing } from './link-keys.js'

export interface LinkClaims {
  /** Random, public: named in logs, revoked by it. */
  readonly id: string
  /** Canonical (NFC) path of the file, or of the folder when `folder`; no trailing slash. */
  readonly path: string
  /** True: every file below `path`; false: `path` exactly. */
  readonly folder: boolean
  readonly issuer: string
  /** Unix seconds. */
  readonly expiresAt: number
  readonly maxDownloads?: number
}

export interface VerifiedLink extends LinkClaims {
  readonly kid: string
}

/** Why a link is refused, before the store is asked. */
export type LinkRefusal = 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' | 'wrong-path'

export type LinkCheck = { ok: true; link: VerifiedLink } | { ok: false; why: LinkRefusal }

const MAC_BYTES = 32
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{1,8192})\.([A-Za-z0-9_-]{43})$/
export const LINK_ID_PATTERN = /^[A-Za-z0-9_-]{16}$/

function mac(secret: string, kid: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`gwl1.${kid}.${payload}`).digest()
}

export function newLinkId(): string {
  return randomBytes(12).toString('base64url')
}

/** Signs `claims` with the ring's newest key. */
export function signLink(claims: LinkClaims, ring: LinkKeyRing): string {
  const body: Record<string, unknown> = {
    i: claims.id,
    p: claims.path,
    u: claims.issuer,
    e: claims.expiresAt,
  }
  if (claims.folder) body.d = 1
  if (claims.maxDownloads !== undefined) body.m = claims.maxDownloads
  const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url')
  const kid = ring.newest.kid
  return `${kid}.${payload}.${mac(ring.newest.secret, kid, payload).toString('base64url')}`
}

/**
 * The link in `token`, when it is genuine, unexpired and covers `aclPath` (the request's
 * canonical NFC path). Constant time in the MAC comparison.
 */
export function verifyLink(token: string, aclPath: string, ring: LinkKeyRing, nowSeconds: number): LinkCheck {
  const link = genuineLink(token, ring)
  if (typeof link === 'string') return { ok: false, why: link }
  if (link.expiresAt <= nowSeconds) return { ok: false, why: 'expired' }
  if (!linkCovers(link, aclPath)) return { ok: false, why: 'wrong-path' }
  return { ok: true, link }
}

/** Links that verified, remembered per ring; when a ring's memo is full, its oldest goes. */
export const VERIFIED_LINK_MEMO_SIZE = 10_000

// A shared link is downloaded again and again with the very same token, and the MAC, base64 and
// JSON of its check cost a link download more than all the rest of its decision. What is remembered
// is only what the key ring alone decides (signed by a key of this ring, readable claims): a ring
// is never changed in place, so a new ring (another key set) starts with an empty memo, and a
// removed key stops verifying at once. Expiry and path are checked on every request, and
// revocation and counts are the store's, asked on every request regardless.
const verifiedLinks = new WeakMap<LinkKeyRing, BoundedMemo<string, VerifiedLink>>()

function genuineLink(token: string, ring: LinkKeyRing): VerifiedLink | LinkRefusal {
  let memo = verifiedLinks.get(ring)
  const known = memo?.get(token)
  if (known !== undefined) return known
  const link = checkSignedLink(token, ring)
  if (typeof link === 'string') return link
  if (memo === undefined) {
    memo = new BoundedMemo(VERIFIED_LINK_MEMO_SIZE)
    verifiedLinks.set(ring, memo)
  }
  memo.set(token, link)
  return link
}

function checkSignedLink(token: string, ring: LinkKeyRing): VerifiedLink | LinkRefusal {
  const m = TOKEN_PATTERN.exec(token)
  if (!m) return 'malformed'
  const kid = m[1] as string
  const payload = m[2] as string
  const key = ring.byKid.get(kid)
  if (key === undefined) return 'unknown-key'
  const given = Buffer.from(m[3] as string, 'base64url')
  // 43 base64url characters may decode to 32 bytes with stray low bits: re-encoding must round-trip.
  if (given.length !== MAC_BYTES || given.toString('base64url') !== m[3]) return 'malformed'
  if (!timingSafeEqual(given, mac(key.secret, kid, payload))) return 'bad-signature'
  const claims = decodeClaims(payload)
  // Signed by us yet unreadable: a key shared with a buggy issuer. Refused all the same.
  if (claims === null) return 'malformed'
  return Object.freeze({ ...claims, kid })
}

/** A file link covers its own path; a folder link every path strictly below its folder. */
export function linkCovers(claims: Pick<LinkClaims, 'path' | 'folder'>, aclPath: string): boolean {
  if (!claims.folder) return aclPath === claims.path
  const folder = claims.path === '/' ? '/' : `${claims.path}/`
  return aclPath.length > folder.length && aclPath.startsWith(folder)
}

function decodeClaims(payload: string): LinkClaims | null {
  let body: unknown
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const b = body as Record<string, unknown>
  const { i, p, u, e, d, m } = b
  if (typeof i !== 'string' || !LINK_ID_PATTERN.test(i)) return null
  if (typeof p !== 'string' || !p.startsWith('/')) return null
  if (typeof u !== 'string' || u.length === 0) return null
  if (typeof e !== 'number' || !Number.isSafeInteger(e)) return null
  if (d !== undefined && d !== 1) return null
  if (m !== undefined && (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 1)) return null
  return {
    id: i,
    path: p,
    folder: d === 1,
    issuer: u,
    expiresAt: e,
    ...(m === undefined ? {} : { maxDownloads: m as number }),
  }
}

export type LinkTarget =
  | {
      ok: true
      /** Canonical NFC path: what rules and share links match. */
      path: string
      folder: boolean
      /** The exact decoded segments, as the file is named on disk (what nginx serves). */
      segments: readonly string[]
    }
  | { ok: false; message: string }

/**
 * What an issuer names (`/a/b.pdf`, or `/a/` for the folder) in the canonical form requests are
 * matched in, by the very rules requests are canonicalised with: a name a request could never
 * spell cannot be shared either.
 */
export function linkTarget(raw: string): LinkTarget {
  if (!raw.startsWith('/')) return { ok: false, message: `the path must start with '/': '${raw}'` }
  const folder = raw.endsWith('/')
  const inner = folder ? raw.slice(1, -1) : raw.slice(1)
  if (inner === '') return { ok: true, path: '/', folder: true, segments: [] }
  const encoded = inner.split('/').map(encodeURIComponent).join('/')
  const canonical = canonicalizeRequestPath(`/${encoded}`, '/')
  if (!canonical.ok)
    return { ok: false, message: `not a path that can be shared (${canonical.reason}): '${raw}'` }
  return { ok: true, path: canonical.aclPath, folder, segments: canonical.segments }
}

/** The URL path and query of a link: the file's own download URL, or the folder's. */
export function linkUrl(
  routePrefix: string,
  target: { path: string; folder: boolean },
  token: string,
): string {
  const rel = target.path
    .slice(1)
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/')
  // A folder's URL ends in `/`: the receiver appends a file name below it.
  return `${routePrefix}${rel}${target.folder && rel !== '' ? '/' : ''}?gwl=${token}`
}

/** The `gwl` parameter of a raw query (after `?`): the token, '' when given twice or oddly. */
export function linkParam(query: string): string | undefined {
  let found: string | undefined
  for (const part of query.split('&')) {
    if (!part.startsWith('gwl=')) continue
    // Two links in one URL: neither is trusted.
    if (found !== undefined) return ''
    found = part.slice(4)
  }
  return found
}
