// Issuing links and tokens: what the CLI and the admin API share, so both check the same limits
// and name things the same way. Pure but for randomness; the caller stores and prints.

import type { DeliveryPolicy } from '../delivery/accel-headers.js'
import { parseDuration } from '../duration.js'
import { type EdgeLinkClaims, edgeDeliveryOf, edgeLinkUrl, signEdgeLink } from './links/edge-link.js'
import type { LinkKeyRing } from './links/link-keys.js'
import { type LinkClaims, linkTarget, linkUrl, newLinkId, signLink } from './links/share-link.js'
import { hashToken, mintToken, type TokenRecord } from './tokens/access-token.js'

export interface LinkRequest {
  /** `/a/b.pdf`, or `/a/` for every file below the folder. */
  readonly path: string
  /** `7d`, `12h` ... */
  readonly ttl: string
  readonly issuer: string
  readonly maxDownloads?: number
}

export interface IssuedLink {
  readonly claims: LinkClaims
  readonly token: string
  /** Path and query of the download URL, to put behind the download host. */
  readonly url: string
}

export type Issued<T> = { ok: true; value: T } | { ok: false; message: string }

/** Share links and edge links: which is asked for, as the API, the CLI and `POST /links` name it. */
export type LinkKind = 'share' | 'edge'
export const LINK_KINDS: readonly LinkKind[] = ['share', 'edge']

interface CheckedLinkRequest {
  readonly target: { path: string; folder: boolean; segments: readonly string[] }
  readonly expiresAt: number
}

/** What every link must pass, whichever kind: a shareable path, a ttl within the limit, an issuer. */
function checkLinkRequest(
  r: LinkRequest,
  maxTtlSeconds: number,
  nowSeconds: number,
): Issued<CheckedLinkRequest> {
  const target = linkTarget(r.path)
  if (!target.ok) return target
  const ttl = parseDuration(r.ttl)
  if (ttl === null)
    return { ok: false, message: `ttl must look like 90s, 15m, 12h, 7d or 2w (got '${r.ttl}')` }
  if (ttl > maxTtlSeconds)
    return { ok: false, message: `ttl ${r.ttl} is longer than links.max_ttl (${maxTtlSeconds} s)` }
  if (r.issuer.length === 0 || r.issuer.length > 200)
    return { ok: false, message: 'issuer must be 1-200 characters' }
  if (r.maxDownloads !== undefined && (!Number.isSafeInteger(r.maxDownloads) || r.maxDownloads < 1))
    return { ok: false, message: 'max downloads must be a whole number of at least 1' }
  return { ok: true, value: { target, expiresAt: nowSeconds + ttl } }
}

export function issueLink(
  r: LinkRequest,
  ring: LinkKeyRing | null,
  limits: { maxTtlSeconds: number; routePrefix: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): Issued<IssuedLink> {
  if (ring === null)
    return { ok: false, message: 'no link keys: set GATEWAY_LINK_KEYS or GATEWAY_LINK_KEYS_FILE' }
  const checked = checkLinkRequest(r, limits.maxTtlSeconds, nowSeconds)
  if (!checked.ok) return checked
  const { target, expiresAt } = checked.value
  const claims: LinkClaims = {
    id: newLinkId(),
    path: target.path,
    folder: target.folder,
    issuer: r.issuer,
    expiresAt,
    ...(r.maxDownloads === undefined ? {} : { maxDownloads: r.maxDownloads }),
  }
  const token = signLink(claims, ring)
  return { ok: true, value: { claims, token, url: linkUrl(limits.routePrefix, target, token) } }
}

export interface IssuedEdgeLink {
  readonly claims: EdgeLinkClaims
  readonly token: string
  /** `/edge/<path>?gwe=...`, to put behind the download host. */
  readonly url: string
}

/**
 * An edge link for one file. `policyFor` gives the response policy the rules give the file's
 * canonical path (the headers the link carries); the caller has checked the issuer may share it.
 */
export function issueEdgeLink(
  r: LinkRequest,
  ring: LinkKeyRing | null,
  limits: { maxTtlSeconds: number },
  policyFor: (aclPath: string) => DeliveryPolicy,
  nowSeconds = Math.floor(Date.now() / 1000),
): Issued<IssuedEdgeLink> {
  if (ring === null)
    return {
      ok: false,
      message: 'no edge link keys: set GATEWAY_EDGE_LINK_KEYS or GATEWAY_EDGE_LINK_KEYS_FILE',
    }
  // nginx counts nothing and asks no store: a limit could not be kept.
  if (r.maxDownloads !== undefined) return { ok: false, message: 'an edge link cannot limit its downloads' }
  const checked = checkLinkRequest(r, limits.maxTtlSeconds, nowSeconds)
  if (!checked.ok) return checked
  const { target, expiresAt } = checked.value
  if (target.folder) return { ok: false, message: 'an edge link names one file, not a folder' }
  const filePath = `/${target.segments.join('/')}`
  const claims: EdgeLinkClaims = {
    id: newLinkId(),
    path: filePath,
    expiresAt,
    ...edgeDeliveryOf(target.segments, policyFor(target.path)),
  }
  const token = signEdgeLink(claims, ring)
  return { ok: true, value: { claims, token, url: edgeLinkUrl(filePath, token) } }
}

export interface TokenRequest {
  readonly user: string
  readonly groups: readonly string[]
  readonly ttl: string
  /** `/reports/` or `/reports`: the token reaches only below it. */
  readonly scope?: string
}

export function issueToken(
  r: TokenRequest,
  nowSeconds = Math.floor(Date.now() / 1000),
): Issued<{ record: TokenRecord; token: string }> {
  const ttl = parseDuration(r.ttl)
  if (ttl === null)
    return { ok: false, message: `ttl must look like 90s, 15m, 12h, 7d or 2w (got '${r.ttl}')` }
  if (r.user.length === 0 || r.user.length > 200)
    return { ok: false, message: 'user must be 1-200 characters' }
  if (r.groups.some((g) => typeof g !== 'string' || g.length === 0))
    return { ok: false, message: 'groups must be non-empty strings' }
  let scope: string | undefined
  if (r.scope !== undefined) {
    const target = linkTarget(r.scope)
    if (!target.ok) return target
    scope = target.path
  }
  const { id, token } = mintToken()
  const record: TokenRecord = {
    id,
    hash: hashToken(token),
    user: r.user,
    groups: [...r.groups],
    expiresAt: nowSeconds + ttl,
    createdAt: nowSeconds,
    ...(scope === undefined ? {} : { scope }),
  }
  return { ok: true, value: { record, token } }
}

/** A link of either kind, as the admin API, the CLI and `POST /links` answer it. */
export interface LinkSummary {
  readonly kind: LinkKind
  readonly id: string
  readonly url: string
  readonly token: string
  /** Canonical path (share links: NFC; edge links: the file's exact name). */
  readonly path: string
  readonly folder: boolean
  readonly issuer: string
  readonly expiresAt: number
  readonly maxDownloads: number | null
}

export interface LinkIssuing {
  readonly shareKeys: LinkKeyRing | null
  readonly edgeKeys: LinkKeyRing | null
  readonly maxTtlSeconds: number
  readonly routePrefix: string
  /** The response policy for a canonical path; asked for edge links only. */
  readonly policyFor: (aclPath: string) => DeliveryPolicy
}

/** Issues a link of `kind` under the same checks whoever asks. */
export function issueLinkOfKind(kind: LinkKind, r: LinkRequest, how: LinkIssuing): Issued<LinkSummary> {
  if (kind === 'edge') {
    const issued = issueEdgeLink(r, how.edgeKeys, how, how.policyFor)
    if (!issued.ok) return issued
    // Edge links name one file and are never counted; the link carries no issuer (nginx has no
    // use for one), so the summary names who asked.
    return summary(kind, issued.value, { folder: false, issuer: r.issuer, maxDownloads: null })
  }
  const issued = issueLink(r, how.shareKeys, how)
  if (!issued.ok) return issued
  const c = issued.value.claims
  return summary(kind, issued.value, {
    folder: c.folder,
    issuer: c.issuer,
    maxDownloads: c.maxDownloads ?? null,
  })
}

function summary(
  kind: LinkKind,
  issued: { url: string; token: string; claims: { id: string; path: string; expiresAt: number } },
  rest: Pick<LinkSummary, 'folder' | 'issuer' | 'maxDownloads'>,
): Issued<LinkSummary> {
  const { url, token, claims } = issued
  return {
    ok: true,
    value: { kind, id: claims.id, url, token, path: claims.path, expiresAt: claims.expiresAt, ...rest },
  }
}

/** The JSON every issuer prints or answers; the token only where the caller should see it. */
export function linkSummaryJson(l: LinkSummary, withToken: boolean): Record<string, unknown> {
  return {
    id: l.id,
    kind: l.kind,
    url: l.url,
    ...(withToken ? { token: l.token } : {}),
    path: l.path,
    folder: l.folder,
    issuer: l.issuer,
    expires_at: new Date(l.expiresAt * 1000).toISOString(),
    max_downloads: l.maxDownloads,
  }
}
