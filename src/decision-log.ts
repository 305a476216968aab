// One log line per decision. Handlers record what they decided on the request; the onResponse hook
// writes it together with the status actually sent and the time taken. The cookie, session id and
// any secret never appear: only the user id the session resolved to.
import type { FastifyInstance, FastifyRequest } from 'fastify'

export interface DecisionRecord {
  code: string
  path?: string
  user?: string | null
  rule?: string | null
  detail?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    decision: DecisionRecord | null
  }
}

export function recordDecision(request: FastifyRequest, record: DecisionRecord): void {
  request.decision = record
}

export function registerDecisionLog(app: FastifyInstance): void {
  app.decorateRequest('decision', null)
  // The logger's redaction walks every line for secret-bearing paths ('*.password' visits every
  // key), which cost a third of a decision line. A decision line is built here from the fixed
  // fields below, none of which any redact path can name, so its lines skip that walk. The
  // request id is written as a field, as Fastify's per-request logger would have bound it.
  const log = app.log.child({}, { redact: [] })
  app.addHook('onResponse', (request, reply, done) => {
    const d = request.decision
    const status = reply.statusCode
    const fields = {
      reqId: request.id,
      method: request.method,
      status,
      code: d?.code ?? (status < 400 ? 'GW_OK' : 'GW_ERR_UNCLASSIFIED'),
      path: d?.path,
      user: d?.user ?? undefined,
      rule: d?.rule ?? undefined,
      detail: d?.detail,
      ms: Math.round(reply.elapsedTime * 1000) / 1000,
    }
    if (status >= 500) log.error(fields, 'decision')
    else log.info(fields, 'decision')
    done()
  })
}
