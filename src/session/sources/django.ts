// Django's sessions, whichever backend the app's SESSION_ENGINE names:
//   signed_cookies  the whole session in the `sessionid` cookie, signed with SECRET_KEY (and
//                   SECRET_KEY_FALLBACKS), SESSION_COOKIE_AGE as max age; no store, see
//                   stateless-cookie.ts for what that means
//   db, cache, cached_db  the cookie holds the session key; the session is in PostgreSQL's
//                   django_session table and/or in Redis through django-redis: django/
// `_auth_user_id` is the user in every backend.
import type { DjangoConfig } from '../../config/django-config.js'
import type { GatewayConfig } from '../../config/gateway-config.js'
import { DjangoSessionData, DjangoSignedCookieSession } from '../formats/django-signing.js'
import { DEFAULT_DECODE_LIMITS } from '../formats/format-result.js'
import type { SessionSource } from '../session-source.js'
import { DjangoSessionAuthHash } from './django/django-auth-hash.js'
import { DjangoCacheStorage } from './django/django-cache-storage.js'
import { DjangoDatabase } from './django/django-database.js'
import { DjangoServerSource } from './django/django-server-source.js'
import { StatelessCookieSource } from './stateless-cookie.js'

export type DjangoSourceOptions = Pick<
  DjangoConfig,
  'cookieName' | 'secretKeys' | 'maxAgeSeconds' | 'legacySha1' | 'userField' | 'groupsField'
> & { readonly now?: () => number }

/** The signed_cookies backend. */
export function createDjangoSource(o: DjangoSourceOptions): StatelessCookieSource {
  return new StatelessCookieSource({
    name: 'django',
    cookieName: o.cookieName,
    decoder: new DjangoSignedCookieSession(o.secretKeys, {
      maxAgeSeconds: o.maxAgeSeconds,
      legacySha1: o.legacySha1,
    }),
    userField: o.userField,
    userShape: 'value',
    groupsField: o.groupsField,
    ...(o.now ? { now: o.now } : {}),
  })
}

export interface DjangoStoreDeps {
  /** The Redis connection settings (`session.redis`), for the cache backends. */
  readonly redis: Pick<
    GatewayConfig['session']['redis'],
    'url' | 'password' | 'connectTimeoutMs' | 'commandTimeoutMs'
  >
  readonly onStoreError?: (err: Error) => void
  readonly now?: () => number
}

/** Any backend: the signed cookie, or the session server-side. */
export function createDjangoSessionSource(c: DjangoConfig, deps: DjangoStoreDeps): SessionSource {
  if (c.backend === 'signed_cookies')
    return createDjangoSource({ ...c, ...(deps.now ? { now: deps.now } : {}) })
  const onError = deps.onStoreError ? { onError: deps.onStoreError } : {}
  const usesDb = c.backend !== 'cache' || c.auth.enabled
  const database = usesDb
    ? new DjangoDatabase({ ...c.database, userColumn: c.auth.userColumn, ...onError })
    : undefined
  const cache =
    c.backend === 'db'
      ? undefined
      : new DjangoCacheStorage({
          backend: c.backend,
          url: deps.redis.url,
          password: deps.redis.password,
          database: c.cache.redisDb,
          connectTimeoutMs: deps.redis.connectTimeoutMs,
          commandTimeoutMs: deps.redis.commandTimeoutMs,
          keyPrefix: c.cache.keyPrefix,
          version: c.cache.version,
          maxBytes: DEFAULT_DECODE_LIMITS.maxBytes,
          ...onError,
        })
  return new DjangoServerSource({
    backend: c.backend,
    cookieName: c.cookieName,
    database,
    sessionData:
      c.backend === 'cache' ? undefined : new DjangoSessionData(c.secretKeys, { legacySha1: c.legacySha1 }),
    cache,
    auth: c.auth.enabled
      ? {
          groups: c.auth.groups,
          requireActive: c.auth.requireActive,
          userFromRow: c.auth.userColumn !== 'id',
          sessionHash: c.auth.verifySessionHash
            ? new DjangoSessionAuthHash(c.secretKeys, c.legacySha1)
            : null,
        }
      : null,
    userField: c.userField,
    userShape: 'value',
    groupsField: c.groupsField,
    answerTtlMs: c.answerCacheMs,
    answerMaxEntries: c.answerCacheMaxEntries,
    ...(deps.now ? { now: deps.now } : {}),
  })
}
