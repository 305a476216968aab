// The last line of defence for X-Accel-Redirect. nginx delivers the file whatever status carries
// the header, and Fastify keeps headers set before an error was thrown (docs/nginx-behaviour.md
// §1). The one reply that may carry X-Accel headers, the allowed download, never passes through
// Fastify's reply pipeline (delivery/send-accel.ts writes it on Node's response itself), so every
// reply Fastify sends loses them here, whatever set them: no exception, no flag to get wrong.
import fp from 'fastify-plugin'
import { ACCEL_HEADERS } from '../delivery/accel-header-names.js'

/**
 * The decision line rides in the same hook, once the headers are final, rather than in a hook of its
 * own, because every hook is paid for on every refusal. Not encapsulated (fastify-plugin): the
 * hook must run for every reply of the app.
 */
export const accelGuard = fp(
  async (app) => {
    const writeDecision = app.writeDecision
    app.addHook('onSend', (request, reply, payload, done) => {
      for (const name of ACCEL_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
      writeDecision(request, reply)
      done(null, payload)
    })
  },
  { name: 'gateway-accel-guard', dependencies: ['gateway-decision-log'] },
)
