// GET /healthz: ready when the session source (its store, or the main app it asks) answers. Used
// by the container healthcheck and by nginx operators; it says nothing about users or files.
import type { FastifyInstance } from 'fastify'
import { GW_ERR_STORE_UNAVAILABLE, withFields } from '../../errors.js'
import type { SessionSource } from '../../session/session-source.js'
import { recordDecision, startDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'

export interface HealthRouteOptions {
  readonly source: Pick<SessionSource, 'ping'>
  readonly ruleCount: () => number
}

export async function healthRoutes(
  app: FastifyInstance,
  { source, ruleCount }: HealthRouteOptions,
): Promise<void> {
  app.get('/healthz', async (request, reply) => {
    startDecision(request)
    try {
      await source.ping()
    } catch (err) {
      return refuse(
        request,
        reply,
        withFields(new GW_ERR_STORE_UNAVAILABLE(), { detail: (err as Error).message }),
      )
    }
    recordDecision(request, { code: 'GW_HEALTHY' })
    return reply.header('cache-control', 'no-store').send({ status: 'ok', rules: ruleCount() })
  })
}
