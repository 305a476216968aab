// The built-in login for people in a browser: GET /login serves the form (or, to a user already
// logged in, a log-out button), the CSRF check guards the form posts, and a successful form login
// goes back to the checked return target. Registered inside the login plugin (routes/login.ts),
// so it shares its cookie parsing and session.
//
// Which posts need the CSRF token: every post a browser makes that is not JSON. Browsers mark
// every POST with `Origin` (and `Sec-Fetch-Site`), and only a browser can be made to post by
// another site, so a request with neither mark (curl -d, a script) cannot be a forgery and keeps
// working without a form. JSON needs no token: a page on another site cannot send
// `Content-Type: application/json` without a CORS preflight, and the gateway answers no preflight.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { prefersHtml } from '../../browser/accept.js'
import { PAGE_CSP, PAGE_HEADERS } from '../../browser/html.js'
import { renderLoginPage } from '../../browser/login-page.js'
import { checkedReturnTarget, type ReturnTargetRules } from '../../browser/return-target.js'
import { GW_ERR_LOGIN_CSRF, withFields } from '../../errors.js'
import {
  CSRF_FIELD,
  csrfKey,
  csrfToken,
  csrfTokenMatches,
  isCsrfCookieValue,
  newCsrfCookieValue,
} from '../../login/csrf.js'
import { readPath } from '../../session/session-identity.js'
import { recordDecision, startDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'

export interface LoginFormOptions {
  /** Signs with the newest session secret (the CSRF key is derived from it). */
  readonly sign: (value: string) => string
  /** The form field and query parameter of the return target (`browser.login_redirect.return_param`). */
  readonly returnParam: string
  readonly returnRules: ReturnTargetRules
  readonly userIdField: readonly string[]
}

/** `__Host-`: on https the cookie can be neither set by a sibling subdomain nor scoped elsewhere. */
function csrfCookieName(request: FastifyRequest): string {
  return request.protocol === 'https' ? '__Host-gw_csrf' : 'gw_csrf'
}

function isBrowserPost(request: FastifyRequest): boolean {
  return request.headers.origin !== undefined || request.headers['sec-fetch-site'] !== undefined
}

function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type']
  return typeof type === 'string' && type.split(';')[0]?.trim().toLowerCase() === 'application/json'
}

/** The preHandler of the form posts (POST /login, POST /logout). */
export function csrfCheck(o: LoginFormOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!isBrowserPost(request) || isJson(request)) return
    const body = request.body as Record<string, unknown> | null | undefined
    const token = body !== null && typeof body === 'object' ? body[CSRF_FIELD] : undefined
    const cookie = request.cookies[csrfCookieName(request)]
    if (csrfTokenMatches(csrfKey(o.sign), cookie, token)) return
    startDecision(request)
    const detail = cookie === undefined ? 'no-cookie' : token === undefined ? 'no-token' : 'mismatch'
    await refuse(request, reply, withFields(new GW_ERR_LOGIN_CSRF(), { detail }))
  }
}

/** The return target a login form or JSON body names (the configured field, or `return_to`). */
export function returnTargetOf(body: Record<string, unknown>, o: LoginFormOptions): string | undefined {
  return (
    checkedReturnTarget(body[o.returnParam], o.returnRules) ??
    checkedReturnTarget(body.return_to, o.returnRules)
  )
}

/**
 * Where a successful login goes: back to its return target; a browser without one to the login
 * page (which says who is logged in); an API client gets its JSON answer (undefined here).
 */
export function afterLogin(request: FastifyRequest, body: Record<string, unknown>, o: LoginFormOptions) {
  const target = returnTargetOf(body, o)
  if (target !== undefined) return target
  return wantsPage(request) ? '/login' : undefined
}

/** A browser's form post, which is answered with a page rather than JSON or 204. */
export function wantsPage(request: FastifyRequest): boolean {
  return !isJson(request) && prefersHtml(request.headers.accept)
}

/**
 * The form again after a failed form login, with `notice` on it and the same return target; only
 * for a browser's form post that carried the CSRF cookie (undefined otherwise: the refusal page).
 */
export function formAgain(
  request: FastifyRequest,
  body: Record<string, unknown>,
  o: LoginFormOptions,
  notice: string,
): string | undefined {
  const cookie = request.cookies[csrfCookieName(request)]
  if (!wantsPage(request) || !isCsrfCookieValue(cookie)) return undefined
  const returnTo = returnTargetOf(body, o)
  return renderLoginPage({
    csrfToken: csrfToken(csrfKey(o.sign), cookie),
    returnParam: o.returnParam,
    returnTo,
    notice,
  })
}

export function registerLoginForm(app: FastifyInstance, o: LoginFormOptions): void {
  // A post after the form's login may redirect to an allowed origin: browsers check form-action on
  // that redirect too.
  const formAction = ["'self'", ...o.returnRules.allowedOrigins].join(' ')
  const csp = `${PAGE_CSP}; form-action ${formAction}`

  app.get('/login', async (request, reply) => {
    startDecision(request)
    const query = request.query as Record<string, unknown>
    const returnTo = checkedReturnTarget(query[o.returnParam], o.returnRules)
    const user = readPath(request.session, o.userIdField)
    const loggedIn = typeof user === 'string' ? user : undefined
    if (loggedIn !== undefined && returnTo !== undefined) {
      recordDecision(request, { code: 'GW_LOGIN_FORM', user: loggedIn, detail: 'logged-in' })
      return reply.code(303).headers({ location: returnTo, 'cache-control': 'no-store' }).send()
    }
    const name = csrfCookieName(request)
    let cookie = request.cookies[name]
    if (!isCsrfCookieValue(cookie)) {
      cookie = newCsrfCookieValue()
      reply.setCookie(name, cookie, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
      })
    }
    recordDecision(request, { code: 'GW_LOGIN_FORM', user: loggedIn ?? null })
    const html = renderLoginPage({
      csrfToken: csrfToken(csrfKey(o.sign), cookie),
      returnParam: o.returnParam,
      returnTo,
      ...(loggedIn === undefined ? {} : { user: loggedIn }),
    })
    return reply.code(200).headers(PAGE_HEADERS).header('content-security-policy', csp).send(html)
  })
}
