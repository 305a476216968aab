// Django's signed_cookies session backend: the `sessionid` cookie signed with SECRET_KEY (and
// SECRET_KEY_FALLBACKS), SESSION_COOKIE_AGE as max age, `_auth_user_id` as the user. The db and
// cache backends keep the session server-side and are not read here. No store: see
// stateless-cookie.ts for what that means.
import { DjangoSignedCookieSession } from '../formats/django-signing.js'
import { StatelessCookieSource } from './stateless-cookie.js'

export interface DjangoSourceOptions {
  readonly cookieName: string
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
  readonly secretKeys: readonly string[]
  /** SESSION_COOKIE_AGE in seconds. */
  readonly maxAgeSeconds: number
  /** Also accept SHA-1 signatures (Django 3.1/3.2 with DEFAULT_HASHING_ALGORITHM = 'sha1'). */
  readonly legacySha1: boolean
  readonly userField: string
  readonly groupsField: string
  readonly now?: () => number
}

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
