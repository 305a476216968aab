// From a request's cookie to an identity, or the reason there is none. The only I/O on the download
// path: at most one store read per request.
import type { Identity } from './session-identity.js'
import { identityFromSession } from './session-identity.js'
import type { SessionData, SessionStore } from './session-store.js'
import { sessionExpiresAt } from './session-store.js'
import type { SessionCookieVerifier } from './signed-cookie.js'

export type IdentityResult =
  | { readonly ok: true; readonly identity: Identity; readonly sessionId: string }
  | {
      readonly ok: false
      readonly reason:
        | 'GW_ERR_NO_SESSION'
        | 'GW_ERR_BAD_COOKIE'
        | 'GW_ERR_SESSION_UNKNOWN'
        | 'GW_ERR_SESSION_EXPIRED'
        | 'GW_ERR_SESSION_NO_USER'
    }

export interface IdentityResolverOptions {
  readonly verifier: SessionCookieVerifier
  readonly store: SessionStore
  readonly userIdField: readonly string[]
  readonly groupsField: readonly string[]
}

/**
 * `sentCookie` is the session cookie's value as the Cookie header carried it (not yet
 * URI-decoded). Rejects with StoreUnavailableError when the store cannot answer: the caller
 * fails closed.
 */
export async function resolveIdentity(
  sentCookie: string | undefined,
  o: IdentityResolverOptions,
): Promise<IdentityResult> {
  const verdict = o.verifier.verifySent(sentCookie)
  if (!verdict.ok)
    return { ok: false, reason: verdict.reason === 'no-cookie' ? 'GW_ERR_NO_SESSION' : 'GW_ERR_BAD_COOKIE' }
  const data = await o.store.get(verdict.sessionId)
  if (data === null) return { ok: false, reason: 'GW_ERR_SESSION_UNKNOWN' }
  const read = readSession(data, o)
  if (read.expiresAt <= Date.now()) return { ok: false, reason: 'GW_ERR_SESSION_EXPIRED' }
  if (read.identity === null) return { ok: false, reason: 'GW_ERR_SESSION_NO_USER' }
  return { ok: true, identity: read.identity, sessionId: verdict.sessionId }
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
