// The last line of defence for X-Accel-Redirect. nginx delivers the file whatever status carries
// the header, and Fastify keeps headers set before an error was thrown (NGINX-FACTS 1). The one
// reply that may carry X-Accel headers, the allowed download, never passes through Fastify's reply
// pipeline (delivery/send-accel.ts writes it on Node's response itself), so every reply Fastify
// sends loses them here, whatever set them: no exception, no flag to get wrong.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const ACCEL_HEADERS = [
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-expires',
] as const

/**
 * `afterGuard` runs in the same hook, once the headers are final: the decision log rides here
 * rather than in a hook of its own, because every hook is paid for on every refusal.
 */
export function registerAccelGuard(
  app: FastifyInstance,
  afterGuard: (request: FastifyRequest, reply: FastifyReply) => void,
): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    for (const name of ACCEL_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
    afterGuard(request, reply)
    done(null, payload)
  })
}
