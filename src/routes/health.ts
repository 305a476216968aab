// GET /healthz: ready when the session store answers. Used by the container healthcheck and by
// nginx operators; it says nothing about users or files.
import type { FastifyInstance } from 'fastify'
import { recordDecision, startDecision } from '../decision-log.js'
import type { SessionStore } from '../session/session-store.js'

export function registerHealthRoute(
  app: FastifyInstance,
  store: SessionStore,
  ruleCount: () => number,
): void {
  app.get('/healthz', async (request, reply) => {
    startDecision(request)
    try {
      await store.ping()
    } catch {
      recordDecision(request, { code: 'GW_ERR_STORE_UNAVAILABLE' })
      return reply.code(503).header('cache-control', 'no-store').send({ status: 'store unavailable' })
    }
    recordDecision(request, { code: 'GW_HEALTHY' })
    return reply.header('cache-control', 'no-store').send({ status: 'ok', rules: ruleCount() })
  })
}
