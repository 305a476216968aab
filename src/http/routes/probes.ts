// The probes: GET /livez (the process serves requests: no store, no file, nothing that can be down
// while this process is fine) and GET /readyz (it can decide downloads: ops/readiness.ts).
// /healthz, the one probe of earlier versions, answers as /readyz does (it always was a readiness
// check: the store's ping), so existing health checks keep working. None of them is under the
// download prefix, and a refusal goes through refuse() like any other: a line, no X-Accel header.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GW_ERR_NOT_READY, withFields } from '../../errors.js'
import { checkReadiness, type ReadinessChecks } from '../../ops/readiness.js'
import { recordDecision, startDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'

export type ProbeRouteOptions = ReadinessChecks

const NO_STORE = { 'cache-control': 'no-store' }

export async function probeRoutes(app: FastifyInstance, checks: ProbeRouteOptions): Promise<void> {
  app.get('/livez', async (request, reply) => {
    startDecision(request)
    recordDecision(request, { code: 'GW_LIVE' })
    return reply.headers(NO_STORE).send({ status: 'ok' })
  })

  const readiness = (code: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    startDecision(request)
    const r = await checkReadiness(checks)
    if (!r.ready) {
      return refuse(
        request,
        reply,
        withFields(new GW_ERR_NOT_READY(r.failed.join(', ')), { detail: r.detail }),
      )
    }
    recordDecision(request, { code })
    return reply.headers(NO_STORE).send({ status: 'ok', rules: r.rules, checks: r.checks })
  }
  app.get('/readyz', readiness('GW_READY'))
  app.get('/healthz', readiness('GW_HEALTHY'))
}
