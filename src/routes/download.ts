// GET/HEAD <route prefix><path>: the one decision this service exists for. The decision itself is
// in download-decision.ts; this file answers it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type DecisionWrite, recordDecision, startDecision } from '../decision-log.js'
import { accelReplyHeaders, downloadHeaderList } from '../delivery/accel-headers.js'
import { sendAccel } from '../delivery/send-accel.js'
import { sendDirect } from '../delivery/send-direct.js'
import { GW_ERR_METHOD } from '../errors.js'
import { type DownloadDecisionOptions, decideDownload } from './download-decision.js'
import { refuse } from './refuse.js'

export interface DownloadRouteOptions extends DownloadDecisionOptions {
  readonly mode: 'x-accel' | 'direct'
  readonly internalPrefix: string
  /** Real path of the files root, for direct delivery. */
  readonly filesRoot: string
  /** Writes the decision line of a reply sent outside Fastify's hooks (the allowed x-accel 200). */
  readonly writeDecision: DecisionWrite
}

export function registerDownloadRoute(app: FastifyInstance, o: DownloadRouteOptions): void {
  const url = `${o.routePrefix}*`
  app.route({ method: ['GET', 'HEAD'], url, handler: (request, reply) => handleDownload(request, reply, o) })
  // Every other method Fastify knows gets a clear 405 (the not-found handler takes the methods it
  // does not route), refused in onRequest, before any body is read or parsed.
  app.route({
    method: app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD'),
    url,
    onRequest: (request, reply) => {
      recordDecision(request, { code: 'GW_ERR_METHOD' })
      refuse(reply, new GW_ERR_METHOD(), { allow: 'GET, HEAD' })
    },
    handler: () => {
      throw new Error('unreachable: onRequest answers every request of this route')
    },
  })
}

async function handleDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  o: DownloadRouteOptions,
): Promise<unknown> {
  startDecision(request)
  const outcome = await decideDownload(request.raw.url as string, request.headers.cookie, o)
  recordDecision(request, outcome.record)
  if (!outcome.allow) return refuse(reply, outcome.error, outcome.headers)

  if (o.mode === 'direct') {
    // Recorded above, before sending: the decision line is written as the reply goes out.
    await sendDirect(
      request,
      reply,
      o.filesRoot,
      outcome.segments,
      downloadHeaderList(outcome.segments, outcome.policy),
    )
    return reply
  }
  sendAccel(reply.raw, accelReplyHeaders(o.internalPrefix, outcome.segments, outcome.policy))
  // Only once it is sent: had Node refused a header, the error handler's reply gets the line.
  o.writeDecision(request, reply)
  // Nothing to return: Fastify sees the response ended and sends nothing more.
  return undefined
}
