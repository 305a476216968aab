// CSRF tokens for the built-in login's forms: a signed double-submit token bound to a pre-session
// cookie. GET /login sets a random cookie (HttpOnly, SameSite=Strict) and puts
// HMAC(key, cookie) in the form; a form post is accepted only when the token matches the cookie
// it came with. Another site can make the browser post the form, but can neither read the token
// from our page nor compute one for the victim's cookie.
//
// Why not SameSite cookies alone: SameSite is about the session cookie, and a login form is
// attacked before there is one (login CSRF: the victim is logged in as the attacker, and what
// they then upload or download is under the attacker's account). SameSite also treats every
// sibling subdomain as "same site", and a browser that ignores it is not protected at all.
// Why no library: @fastify/csrf-protection would keep its secret in the session (a session for
// every anonymous visitor in the shared store: what saveUninitialized: false exists to prevent) or
// in a cookie of its own with the same scheme as here; ours reuses the session secrets (so every
// gateway behind nginx accepts the forms of the others, and SIGHUP rotates it) in 30 lines.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The form field the token travels in. */
export const CSRF_FIELD = '_csrf'

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/

/** A new pre-session cookie value: 32 random bytes. */
export function newCsrfCookieValue(): string {
  return randomBytes(32).toString('base64url')
}

export function isCsrfCookieValue(value: unknown): value is string {
  return typeof value === 'string' && COOKIE_VALUE.test(value)
}

/**
 * The token key, derived from the newest session secret through the session cookie's signer: the
 * secret itself never signs a token, and nothing a client sends is ever signed under this label.
 */
export function csrfKey(sign: (value: string) => string): Buffer {
  const signed = sign('download-gateway login-csrf key 1')
  return Buffer.from(signed.slice(signed.lastIndexOf('.') + 1), 'utf8')
}

export function csrfToken(key: Buffer, cookieValue: string): string {
  return createHmac('sha256', key).update(`login-csrf:${cookieValue}`).digest('base64url')
}

/** Whether `token` is the one for `cookieValue`, compared in constant time. */
export function csrfTokenMatches(key: Buffer, cookieValue: unknown, token: unknown): boolean {
  if (!isCsrfCookieValue(cookieValue) || typeof token !== 'string' || token.length > 128) return false
  const expected = Buffer.from(csrfToken(key, cookieValue))
  const given = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
