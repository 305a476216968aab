// The one way a refusal leaves the gateway: its decision line is recorded and its reply sent from
// the same value (an error of src/errors.ts), so the code the log says is the code the client got.
// The reply is never cacheable and never a file: a small JSON body for API clients, or, for a
// client that prefers HTML (a browser, browser/accept.ts says how that is decided), the refusal
// page rendered from the same status, code and message. HEAD gets the headers only (Node sends no
// body on a HEAD). Both vary by Accept, so the reply says so.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { prefersHtml } from '../browser/accept.js'
import { PAGE_HEADERS } from '../browser/html.js'
import { type RefusalPage, refusalValues } from '../browser/refusal-page.js'
import type { GatewayError } from '../errors.js'
import { recordDecision } from './decision-log.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The page browsers get for a refusal; null: JSON for every client. */
    refusalPage: RefusalPage | null
  }
}

export const REFUSAL_HEADERS = {
  'cache-control': 'no-store',
  'content-type': 'application/json; charset=utf-8',
}

/** Registers the refusal page every refuse() in the app renders for browsers. */
export const refusalPages = fp<{ page: RefusalPage | null }>(
  async (app, { page }) => {
    app.decorate('refusalPage', page)
  },
  { name: 'gateway-refusal-pages' },
)

/**
 * `page`: what a browser gets instead of the refusal page, where the page it came from can say
 * better (a failed form login shows the form again, with the reason on it).
 */
export function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  error: GatewayError,
  page?: string,
): FastifyReply {
  const fields = error.log
  recordDecision(
    request,
    fields === undefined
      ? { code: error.code }
      : {
          code: error.code,
          path: fields.path,
          user: fields.user,
          rule: fields.rule,
          detail: fields.detail,
          credential: fields.credential,
        },
  )
  const status = error.statusCode ?? 500
  const refusalPage = request.server.refusalPage
  if (refusalPage && prefersHtml(request.headers.accept)) {
    reply.code(status).headers(PAGE_HEADERS).header('vary', 'Accept')
    if (error.headers) reply.headers(error.headers)
    return reply.send(
      page ?? refusalPage.render(refusalValues(status, error.code, error.message, request.id)),
    )
  }
  reply.code(status).headers(REFUSAL_HEADERS)
  if (refusalPage) reply.header('vary', 'Accept')
  if (error.headers) reply.headers(error.headers)
  return reply.send(refusalBody(status, error))
}

/** The body every refusal carries; also written by hand where Fastify is not there to send it. */
export function refusalBody(status: number, error: GatewayError): string {
  return JSON.stringify({ statusCode: status, code: error.code, message: error.message })
}
