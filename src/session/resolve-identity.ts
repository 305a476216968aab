// From a connect-style session cookie to an identity, or the reason there is none, in two
// synchronous steps around the one store read of the download path, which the caller
// (sources/connect.ts) makes in between: which session the cookie names, then who that stored
// session belongs to.
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
} from '../errors.js'
import type { Identity } from './session-identity.js'
import { identityFromSession } from './session-identity.js'
import type { IdentityResult, NoIdentity } from './session-source.js'
import type { SessionData } from './session-store.js'
import { sessionExpiresAt } from './session-store.js'
import type { SessionCookieVerifier } from './signed-cookie.js'

export interface IdentityResolverOptions {
  readonly verifier: SessionCookieVerifier
  readonly userIdField: readonly string[]
  readonly groupsField: readonly string[]
}

/**
 * Step one: the session id a correctly signed cookie names. `sentCookie` is the session cookie's
 * value as the Cookie header carried it (not yet URI-decoded).
 */
export function sessionNamedBy(
  sentCookie: string | undefined,
  o: IdentityResolverOptions,
): { readonly ok: true; readonly sessionId: string } | NoIdentity {
  const verdict = o.verifier.verifySent(sentCookie)
  if (verdict.ok) return verdict
  return verdict.reason === 'no-cookie'
    ? NO_SESSION
    : verdict.reason === 'bad-format'
      ? BAD_FORMAT
      : BAD_SIGNATURE
}

const NO_SESSION: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_NO_SESSION, why: 'no-cookie' })
const BAD_FORMAT: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_BAD_COOKIE, why: 'bad-format' })
const BAD_SIGNATURE: NoIdentity = Object.freeze({
  ok: false,
  reason: GW_ERR_BAD_COOKIE,
  why: 'bad-signature',
})
const UNKNOWN: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_UNKNOWN, why: 'unknown' })
const EXPIRED: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_EXPIRED, why: 'expired' })
const NO_USER: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_NO_USER, why: 'no-user' })

/** Step two: who the session the store answered (null: none) belongs to, if it is still valid. */
export function identityFromStored(data: SessionData | null, o: IdentityResolverOptions): IdentityResult {
  if (data === null) return UNKNOWN
  const read = readSession(data, o)
  if (read.expiresAt <= Date.now()) return EXPIRED
  if (read.identity === null) return NO_USER
  return { ok: true, identity: read.identity }
}

interface ReadSession {
  /** ms since the epoch; Infinity when the session has no expiry, -Infinity when it is unreadable. */
  readonly expiresAt: number
  readonly identity: Identity | null
}

// What a frozen session (the Redis store's client cache hands out the same frozen object until
// Redis invalidates it) resolves to, computed once per object: a new value in Redis is a new
// object, so this can never outlive the session it was read from. One memo per resolver, since the
// fields read depend on its options.
const memos = new WeakMap<IdentityResolverOptions, WeakMap<SessionData, ReadSession>>()

function readSession(data: SessionData, o: IdentityResolverOptions): ReadSession {
  let memo = memos.get(o)
  if (memo === undefined) {
    memo = new WeakMap()
    memos.set(o, memo)
  }
  const known = memo.get(data)
  if (known !== undefined) return known
  const identity = identityFromSession(data, o.userIdField, o.groupsField)
  const read: ReadSession = {
    expiresAt: sessionExpiresAt(data),
    identity: identity && Object.freeze({ user: identity.user, groups: Object.freeze(identity.groups) }),
  }
  if (Object.isFrozen(data)) memo.set(data, read)
  return read
}
