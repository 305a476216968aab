// Sessions as express-session (with connect-redis) and @fastify/session write them: a signed cookie
// `<prefix><id>.<HMAC-SHA256>` names a JSON session in a store (Redis, or the embedded memory
// store). The gateway's own built-in login writes this format too.
import { readSentCookie } from '../cookie-header.js'
import { type IdentityResolverOptions, identityFromStored, sessionNamedBy } from '../resolve-identity.js'
import type { IdentityResult, PendingRead, SessionSource } from '../session-source.js'
import type { SessionStore } from '../session-store.js'
import type { SessionCookieVerifier } from '../signed-cookie.js'

export interface ConnectSourceOptions {
  readonly cookieName: string
  readonly verifier: SessionCookieVerifier
  readonly store: SessionStore
  readonly userIdField: readonly string[]
  readonly groupsField: readonly string[]
}

interface StoreRead extends PendingRead {
  readonly sessionId: string
}

export class ConnectSessionSource implements SessionSource {
  readonly name = 'connect'
  readonly #cookieName: string
  readonly #store: SessionStore
  readonly #resolver: IdentityResolverOptions

  constructor(o: ConnectSourceOptions) {
    this.#cookieName = o.cookieName
    this.#store = o.store
    // One object for the life of the source: resolve-identity memoises per options object.
    this.#resolver = { verifier: o.verifier, userIdField: o.userIdField, groupsField: o.groupsField }
  }

  identify(cookieHeader: string | undefined): IdentityResult | StoreRead {
    const named = sessionNamedBy(readSentCookie(cookieHeader, this.#cookieName), this.#resolver)
    if (!named.ok) return named
    return { pendingRead: true, sessionId: named.sessionId }
  }

  read(pending: PendingRead): Promise<IdentityResult> {
    return this.#store
      .get((pending as StoreRead).sessionId)
      .then((stored) => identityFromStored(stored, this.#resolver))
  }

  readCached(pending: PendingRead, answer: (result: IdentityResult | undefined) => void): boolean {
    const getCached = this.#store.getCached
    if (getCached === undefined) return false
    return getCached.call(this.#store, (pending as StoreRead).sessionId, (stored) =>
      answer(stored === undefined ? undefined : identityFromStored(stored, this.#resolver)),
    )
  }

  readByCallback(pending: PendingRead, answer: (result: IdentityResult | Error) => void): boolean {
    const getByCallback = this.#store.getByCallback
    if (getByCallback === undefined) return false
    getByCallback.call(this.#store, (pending as StoreRead).sessionId, (stored) =>
      answer(stored instanceof Error ? stored : identityFromStored(stored, this.#resolver)),
    )
    return true
  }

  ping(): Promise<void> {
    return this.#store.ping()
  }

  close(): Promise<void> {
    return this.#store.close()
  }
}
