// An anonymous browser asking for a download is sent to log in instead of being shown a 401: a
// 302 to the login page with the download's URL in the return parameter. Only for the refusals
// that mean "nobody is logged in" (no session, or a session cookie that is no longer good): never
// for a link or token (their holder cannot log in as them), a 403 (logging in again changes
// nothing) or a 404 (a redirect would tell that something is there). The return URL is built from
// the canonical path, never from the request (browser/return-target.ts). Not a refusal, so not
// through refuse(): its own decision line (GW_LOGIN_REDIRECT, 302, the refusal's code as detail),
// and, like every reply that goes through Fastify, no X-Accel header (accel-guard.ts).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { prefersHtml } from '../browser/accept.js'
import { loginLocation, returnUrlFor } from '../browser/return-target.js'
import type { GatewayError } from '../errors.js'
import { recordDecision } from './decision-log.js'

export interface LoginRedirectOptions {
  /** The login page: a path on this site or an absolute URL. */
  readonly url: string
  readonly returnParam: string
  readonly routePrefix: string
  readonly publicOrigin: string | undefined
}

/** The 401s a login cures. */
const NOBODY_LOGGED_IN = new Set([
  'GW_ERR_NO_SESSION',
  'GW_ERR_BAD_COOKIE',
  'GW_ERR_SESSION_UNKNOWN',
  'GW_ERR_SESSION_EXPIRED',
  'GW_ERR_SESSION_NO_USER',
  'GW_ERR_SESSION_UNREADABLE',
])

/** Whether this refusal of a download is, for this client, a redirect to the login page. */
export function sendsToLogin(request: FastifyRequest, error: GatewayError): boolean {
  return (
    NOBODY_LOGGED_IN.has(error.code) && error.log?.path !== undefined && prefersHtml(request.headers.accept)
  )
}

export function redirectToLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  error: GatewayError,
  o: LoginRedirectOptions,
): FastifyReply {
  const fields = error.log ?? {}
  const path = fields.path as string
  // The canonical path is '/' + its segments, and no segment holds a '/' (an encoded one is refused).
  const returnUrl = returnUrlFor(path.slice(1).split('/'), o.routePrefix, o.publicOrigin)
  recordDecision(request, {
    code: 'GW_LOGIN_REDIRECT',
    path,
    rule: fields.rule,
    detail: fields.detail === undefined ? error.code : `${error.code}: ${fields.detail}`,
  })
  return reply
    .code(302)
    .headers({
      location: loginLocation(o.url, o.returnParam, returnUrl),
      'cache-control': 'no-store',
      vary: 'Accept, Cookie',
    })
    .send()
}
