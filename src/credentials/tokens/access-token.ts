// Personal access tokens for scripts: `gwt_<id>_<secret>`. The id is public (logs, revocation);
// the secret is 32 random bytes, shown once at creation and stored only as the SHA-256 of the
// whole token. A fast hash is enough here: 256 random bits cannot be guessed, so there is nothing
// for a slow password hash to protect.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { BoundedMemo } from '../../bounded-memo.js'

export interface TokenRecord {
  readonly id: string
  /** hex SHA-256 of the whole token. */
  readonly hash: string
  readonly user: string
  readonly groups: readonly string[]
  /** Unix seconds. */
  readonly expiresAt: number
  /** Canonical path prefix the token is limited to (`/reports`), or undefined for everything. */
  readonly scope?: string
  readonly createdAt: number
  readonly revoked?: boolean
}

export const TOKEN_ID_PATTERN = /^[A-Za-z0-9]{16}$/
const TOKEN_PATTERN = /^gwt_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** A fresh token and its id; the caller stores the hash and hands the token out once. */
export function mintToken(): { id: string; token: string } {
  const id = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)
  return { id, token: `gwt_${id}_${randomBytes(32).toString('base64url')}` }
}

/** The id of a well-formed token, for the store lookup; null for anything else. */
export function tokenId(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null
}

/** Tokens that matched their record, with their digest; when full, the oldest goes. */
export const MATCHED_TOKEN_MEMO_SIZE = 10_000

// A script sends the same token on every request; its SHA-256 is a pure function of it, so the
// digest of a token that once matched is remembered rather than computed again. Only the hash
// is skipped: the record is read from the store and compared on every request, so a revoked,
// expired or replaced token is refused exactly as before.
const matchedDigests = new BoundedMemo<string, Buffer>(MATCHED_TOKEN_MEMO_SIZE)

/** Constant-time: does `token` hash to the record's hash? */
export function tokenMatches(token: string, record: Pick<TokenRecord, 'hash'>): boolean {
  const expected = Buffer.from(record.hash, 'hex')
  const known = matchedDigests.get(token)
  const given = known ?? createHash('sha256').update(token).digest()
  const matches = expected.length === given.length && timingSafeEqual(expected, given)
  if (matches && known === undefined) matchedDigests.set(token, given)
  return matches
}

/** The token of an `Authorization` header value: undefined when it is not the Bearer scheme. */
export function bearerToken(header: string): string | undefined {
  if (header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  return header.slice(7).trim()
}

/** Does a token limited to `scope` reach `aclPath`? The scope itself, or anything below it. */
export function inScope(scope: string | undefined, aclPath: string): boolean {
  if (scope === undefined || scope === '/') return true
  return aclPath === scope || aclPath.startsWith(`${scope}/`)
}
