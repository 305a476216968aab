// The last line of defence for X-Accel-Redirect. nginx delivers the file whatever status carries
// the header, and Fastify keeps headers set before an error was thrown (NGINX-FACTS 1), so every
// reply that is not the one allowed 200 loses the X-Accel headers here, whatever set them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const ACCEL_HEADERS = [
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-expires',
]

declare module 'fastify' {
  interface FastifyReply {
    accelAllowed: boolean
  }
}

/** Marks this reply as the allowed download; call immediately before setting X-Accel-Redirect. */
export function markAccelAllowed(reply: FastifyReply): void {
  reply.accelAllowed = true
}

/**
 * `afterGuard` runs in the same hook, once the headers are final: the decision log rides here
 * rather than in a hook of its own, because every hook is paid for on every download.
 */
export function registerAccelGuard(
  app: FastifyInstance,
  afterGuard: (request: FastifyRequest, reply: FastifyReply) => void,
): void {
  app.decorateReply('accelAllowed', false)
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!(reply.accelAllowed && reply.statusCode === 200)) {
      for (const name of ACCEL_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
    }
    afterGuard(request, reply)
    done(null, payload)
  })
}
