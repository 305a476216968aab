// From a request's cookie to an identity, or the reason there is none. The only I/O on the download
// path: at most one store read per request.
import type { Identity } from './session-identity.js'
import { identityFromSession } from './session-identity.js'
import type { SessionStore } from './session-store.js'
import { sessionExpired } from './session-store.js'
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

/** Rejects with StoreUnavailableError when the store cannot answer: the caller fails closed. */
export async function resolveIdentity(
  cookieValue: string | undefined,
  o: IdentityResolverOptions,
): Promise<IdentityResult> {
  const verdict = o.verifier.verify(cookieValue)
  if (!verdict.ok)
    return { ok: false, reason: verdict.reason === 'no-cookie' ? 'GW_ERR_NO_SESSION' : 'GW_ERR_BAD_COOKIE' }
  const data = await o.store.get(verdict.sessionId)
  if (data === null) return { ok: false, reason: 'GW_ERR_SESSION_UNKNOWN' }
  if (sessionExpired(data)) return { ok: false, reason: 'GW_ERR_SESSION_EXPIRED' }
  const identity = identityFromSession(data, o.userIdField, o.groupsField)
  if (identity === null) return { ok: false, reason: 'GW_ERR_SESSION_NO_USER' }
  return { ok: true, identity, sessionId: verdict.sessionId }
}
