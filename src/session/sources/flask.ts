// Flask's default session: the signed `session` cookie of SecureCookieSessionInterface, with
// flask-login's `_user_id` as the user. No store: see stateless-cookie.ts for what that means.
import { FlaskSessionCookie } from '../formats/flask-session-cookie.js'
import { StatelessCookieSource } from './stateless-cookie.js'

export interface FlaskSourceOptions {
  readonly cookieName: string
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
  readonly secretKeys: readonly string[]
  /** PERMANENT_SESSION_LIFETIME in seconds. */
  readonly maxAgeSeconds: number
  readonly salt: string
  readonly userField: string
  readonly groupsField: string
  readonly now?: () => number
}

export function createFlaskSource(o: FlaskSourceOptions): StatelessCookieSource {
  return new StatelessCookieSource({
    name: 'flask',
    cookieName: o.cookieName,
    decoder: new FlaskSessionCookie(o.secretKeys, { maxAgeSeconds: o.maxAgeSeconds, salt: o.salt }),
    userField: o.userField,
    userShape: 'value',
    groupsField: o.groupsField,
    ...(o.now ? { now: o.now } : {}),
  })
}
