// Every refusal the gateway sends: the status and code of one of the errors in src/errors.ts, a
// small JSON body, never cacheable, never a file.
import type { FastifyError, FastifyReply } from 'fastify'

const REFUSAL_HEADERS = { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' }

export function refuse(
  reply: FastifyReply,
  error: FastifyError,
  extraHeaders?: Record<string, string>,
): FastifyReply {
  const status = error.statusCode ?? 500
  reply.code(status).headers(REFUSAL_HEADERS)
  if (extraHeaders) reply.headers(extraHeaders)
  return reply.send(JSON.stringify({ statusCode: status, code: error.code, message: error.message }))
}
