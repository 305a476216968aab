// The one way a refusal leaves the gateway: its decision line is recorded and its reply sent from
// the same value (an error of src/errors.ts), so the code the log says is the code the client got.
// The reply is a small JSON body, never cacheable, never a file.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayError } from '../errors.js'
import { recordDecision } from './decision-log.js'

export const REFUSAL_HEADERS = {
  'cache-control': 'no-store',
  'content-type': 'application/json; charset=utf-8',
}

export function refuse(request: FastifyRequest, reply: FastifyReply, error: GatewayError): FastifyReply {
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
  reply.code(status).headers(REFUSAL_HEADERS)
  if (error.headers) reply.headers(error.headers)
  return reply.send(refusalBody(status, error))
}

/** The body every refusal carries; also written by hand where Fastify is not there to send it. */
export function refusalBody(status: number, error: GatewayError): string {
  return JSON.stringify({ statusCode: status, code: error.code, message: error.message })
}
