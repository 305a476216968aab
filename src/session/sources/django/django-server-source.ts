// Django's server-side session backends: the `sessionid` cookie carries only the session key, and
// the session lives in the `django_session` table (db), in Redis through django-redis (cache), or
// in both (cached_db: the cache first, the table when the cache has no copy, as Django reads it).
//
//   db:        session_data, signed as SessionBase.encode signs it (DjangoSessionData), valid while
//              expire_date is in the future (Django: expire_date__gt=now)
//   cache:     the session dict pickled by django-redis, read by the safe unpickler only; the key's
//              TTL is the expiry, so an expired session is a missing key
//
// `_auth_user_id` is the user. With the auth tables on (they need the database), the user must
// still exist, be active (ModelBackend refuses inactive users), have the password the session's
// `_auth_user_hash` was made from (auth.get_user() flushes the session otherwise), and the groups
// are the user's auth groups. Each of those refusals makes the request anonymous, as Django does.
//
// Reads per download: cache 1 GET; db 1 query; with the auth tables one more query (the user id
// is inside the signed, maybe compressed, session_data, so SQL cannot join on it). An answer may
// be kept per session key for `answerTtlMs` (0 by default): the staleness bound the docs state.
import { GW_ERR_BAD_COOKIE, GW_ERR_SESSION_UNREADABLE, GW_ERR_SESSION_USER_REVOKED } from '../../../errors.js'
import { readSentCookie } from '../../cookie-header.js'
import type { DjangoSessionData } from '../../formats/django-signing.js'
import { unpickle } from '../../formats/pickle.js'
import type { SessionObject } from '../../formats/signed-result.js'
import type { IdentityResult, NoIdentity, PendingRead, SessionSource } from '../../session-source.js'
import { AnswerCache } from '../answer-cache.js'
import { EXPIRED, NO_COOKIE, NO_USER, noIdentity, UNKNOWN, unreadableBecause } from '../no-identity.js'
import { identityIn, type UserLocation } from '../stateless-cookie.js'
import type { DjangoSessionAuthHash } from './django-auth-hash.js'
import type { DjangoCacheStorage } from './django-cache-storage.js'
import type { DjangoDatabase } from './django-database.js'

export type DjangoServerBackend = 'db' | 'cache' | 'cached_db'

export interface DjangoAuthChecks {
  /** The groups are the user's auth groups (auth_user_groups / auth_group), not a session field. */
  readonly groups: boolean
  readonly requireActive: boolean
  /** The identity's user is the user row's configured column (the pk by default), not the session's id. */
  readonly userFromRow: boolean
  /** Compare `_auth_user_hash` with the user's current password hash; null: not compared. */
  readonly sessionHash: DjangoSessionAuthHash | null
}

export interface DjangoServerSourceOptions extends UserLocation {
  readonly backend: DjangoServerBackend
  readonly cookieName: string
  /** db and cached_db. */
  readonly database: DjangoDatabase | undefined
  /** db and cached_db: reads session_data. */
  readonly sessionData: DjangoSessionData | undefined
  /** cache and cached_db. */
  readonly cache: DjangoCacheStorage | undefined
  /** null: the auth tables are not read. Needs `database`. */
  readonly auth: DjangoAuthChecks | null
  readonly answerTtlMs: number
  readonly answerMaxEntries: number
  /** The clock for expire_date, in ms. */
  readonly now?: () => number
}

interface DjangoRead extends PendingRead {
  readonly sessionKey: string
}

// Django's keys are 32 characters of [a-z0-9] (SessionBase._get_new_session_key); it accepts any
// of 8 or more, and the table holds 40. Anything else never reaches a query or a Redis key.
const SESSION_KEY = /^[a-z0-9]{8,40}$/
const HASH_SESSION_KEY = '_auth_user_hash'

const BAD_KEY = noIdentity(GW_ERR_BAD_COOKIE, 'django-bad-key')
const USER_GONE = noIdentity(GW_ERR_SESSION_USER_REVOKED, 'user-gone')
const INACTIVE = noIdentity(GW_ERR_SESSION_USER_REVOKED, 'inactive')
const AUTH_HASH = noIdentity(GW_ERR_SESSION_USER_REVOKED, 'auth-hash')
const NOT_A_DICT = noIdentity(GW_ERR_SESSION_UNREADABLE, 'not-a-dict')

export class DjangoServerSource implements SessionSource {
  readonly name = 'django'
  readonly #o: DjangoServerSourceOptions
  readonly #answers: AnswerCache<IdentityResult>
  readonly #now: () => number

  constructor(o: DjangoServerSourceOptions) {
    const needsDb = o.backend !== 'cache' || o.auth !== null
    if (needsDb && (o.database === undefined || (o.backend !== 'cache' && o.sessionData === undefined)))
      throw new Error(`the django ${o.backend} source needs its database`)
    if (o.backend !== 'db' && o.cache === undefined)
      throw new Error(`the django ${o.backend} source needs its cache`)
    this.#o = o
    this.#answers = new AnswerCache(o.answerTtlMs, o.answerMaxEntries)
    this.#now = o.now ?? Date.now
  }

  identify(cookieHeader: string | undefined): IdentityResult | DjangoRead {
    const sent = readSentCookie(cookieHeader, this.#o.cookieName)
    if (sent === undefined || sent === '') return NO_COOKIE
    if (!SESSION_KEY.test(sent)) return BAD_KEY
    // A fresh kept answer for this very session key: no read (only with answerTtlMs > 0).
    return this.#answers.get(sent) ?? { pendingRead: true, sessionKey: sent }
  }

  read(pending: PendingRead): Promise<IdentityResult> {
    const { sessionKey } = pending as DjangoRead
    return this.#answers.load(
      sessionKey,
      () => this.#lookup(sessionKey),
      (answer) => answer.ok,
    )
  }

  async ping(): Promise<void> {
    await Promise.all([this.#o.cache?.ping(), this.#o.database?.ping()])
  }

  async close(): Promise<void> {
    this.#answers.clear()
    await Promise.all([this.#o.cache?.close(), this.#o.database?.close()])
  }

  async #lookup(sessionKey: string): Promise<IdentityResult> {
    const session = await this.#session(sessionKey)
    if (isRefusal(session)) return session
    const identity = identityIn(session, this.#o)
    if (identity === null) return NO_USER
    const auth = this.#o.auth
    if (auth === null) return { ok: true, identity }
    const user = await (this.#o.database as DjangoDatabase).readUser(identity.user, auth.groups)
    if (user === null) return USER_GONE
    if (auth.requireActive && !user.isActive) return INACTIVE
    if (auth.sessionHash !== null && !auth.sessionHash.verifies(session[HASH_SESSION_KEY], user.passwordHash))
      return AUTH_HASH
    if (auth.userFromRow && user.name === '') return NO_USER
    return {
      ok: true,
      identity: {
        user: auth.userFromRow ? user.name : identity.user,
        groups: auth.groups ? user.groups : identity.groups,
      },
    }
  }

  async #session(sessionKey: string): Promise<SessionObject | NoIdentity> {
    if (this.#o.backend !== 'db') {
      const cached = await (this.#o.cache as DjangoCacheStorage).read(sessionKey)
      if (cached === 'too-large') return unreadableBecause('too-large')
      if (cached !== null) return sessionFromDjangoCache(cached)
      // cached_db reads the table when the cache has no copy, as Django does.
      if (this.#o.backend === 'cache') return UNKNOWN
    }
    const row = await (this.#o.database as DjangoDatabase).readSession(sessionKey)
    if (row === null) return UNKNOWN
    if (row.expireDate.getTime() <= this.#now()) return EXPIRED
    const decoded = (this.#o.sessionData as DjangoSessionData).decode(row.sessionData, this.#now())
    return decoded.ok ? decoded.session : unreadableBecause(decoded.reason)
  }
}

/** django-redis' value: the pickled session dict, read by the safe subset only. */
export function sessionFromDjangoCache(bytes: Uint8Array): SessionObject | NoIdentity {
  const decoded = unpickle(bytes)
  if (!decoded.ok) return unreadableBecause(decoded.reason)
  const value = decoded.value
  // A dict decodes to an object without prototype; lists, bytes and datetimes are not sessions.
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== null) return NOT_A_DICT
  // The unpickler's values are the session decoders' (frozen, prototype-less) plus dates, which
  // identityIn never takes for an id or a group.
  return value as unknown as SessionObject
}

function isRefusal(x: SessionObject | NoIdentity): x is NoIdentity {
  return Object.getPrototypeOf(x) !== null && (x as NoIdentity).ok === false
}
