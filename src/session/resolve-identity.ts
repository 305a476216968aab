// From a request's cookie to an identity, or the reason there is none, in two synchronous steps
// around the one store read of the download path, which the caller makes in between (with a
// promise, or without one when the store answers from memory): which session the cookie names,
// then who that stored session belongs to.
import {
  type GatewayErrorClass,
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
} from '../errors.js'
import type { Identity } from './session-identity.js'
import { identityFromSession } from './session-identity.js'
import type { SessionData, SessionStore } from './session-store.js'
import { sessionExpiresAt } from './session-store.js'
import type { SessionCookieVerifier } from './signed-cookie.js'

/** Why there is no identity: the 401 an anonymous refusal gets (one of the GW_ERR_* 401s). */
export type NoIdentity = { readonly ok: false; readonly reason: GatewayErrorClass }

export type IdentityResult = { readonly ok: true; readonly identity: Identity } | NoIdentity

export interface IdentityResolverOptions {
  readonly verifier: SessionCookieVerifier
  /** Read by the caller, between the two steps. */
  readonly store: SessionStore
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
  return verdict.reason === 'no-cookie' ? NO_SESSION : BAD_COOKIE
}

const NO_SESSION: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_NO_SESSION })
const BAD_COOKIE: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_BAD_COOKIE })
const UNKNOWN: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_UNKNOWN })
const EXPIRED: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_EXPIRED })
const NO_USER: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_NO_USER })

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
