// Issuing links and tokens: what the CLI and the admin API share, so both check the same limits
// and name things the same way. Pure but for randomness; the caller stores and prints.
import { parseDuration } from '../duration.js'
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

export function issueLink(
  r: LinkRequest,
  ring: LinkKeyRing | null,
  limits: { maxTtlSeconds: number; routePrefix: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): Issued<IssuedLink> {
  if (ring === null)
    return { ok: false, message: 'no link keys: set GATEWAY_LINK_KEYS or GATEWAY_LINK_KEYS_FILE' }
  const target = linkTarget(r.path)
  if (!target.ok) return target
  const ttl = parseDuration(r.ttl)
  if (ttl === null)
    return { ok: false, message: `ttl must look like 90s, 15m, 12h, 7d or 2w (got '${r.ttl}')` }
  if (ttl > limits.maxTtlSeconds)
    return { ok: false, message: `ttl ${r.ttl} is longer than links.max_ttl (${limits.maxTtlSeconds} s)` }
  if (r.issuer.length === 0 || r.issuer.length > 200)
    return { ok: false, message: 'issuer must be 1-200 characters' }
  if (r.maxDownloads !== undefined && (!Number.isSafeInteger(r.maxDownloads) || r.maxDownloads < 1))
    return { ok: false, message: 'max downloads must be a whole number of at least 1' }
  const claims: LinkClaims = {
    id: newLinkId(),
    path: target.path,
    folder: target.folder,
    issuer: r.issuer,
    expiresAt: nowSeconds + ttl,
    ...(r.maxDownloads === undefined ? {} : { maxDownloads: r.maxDownloads }),
  }
  const token = signLink(claims, ring)
  return { ok: true, value: { claims, token, url: linkUrl(limits.routePrefix, target, token) } }
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
