// GET/HEAD <route prefix><path>: the one decision this service exists for. The decision itself is
// in download-decision.ts; this file answers it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type DecisionWrite, recordDecision, startDecision } from '../decision-log.js'
import { accelReplyHeaders, downloadHeaderList } from '../delivery/accel-headers.js'
import { sendAccel } from '../delivery/send-accel.js'
import { sendDirect } from '../delivery/send-direct.js'
import { GW_ERR_METHOD } from '../errors.js'
import {
  beginDownloadDecision,
  type DownloadDecisionOptions,
  type DownloadOutcome,
  finishDownloadDecision,
  finishWithStore,
  type PendingDecision,
} from './download-decision.js'
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

// Not async: when the session cache can answer, the decision is finished in the cache's shared
// event-loop turn with no promise at all. The chain of async functions it replaces (route, decision,
// identity, store, cache) cost 3-4% of the gateway's Node CPU per cached download, side by side.
// Errors in that callback reach Fastify's error handler through reply.send, as a rejected
// promise's would; everything else still returns a promise to Fastify.
function handleDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  o: DownloadRouteOptions,
): Promise<unknown> | undefined {
  startDecision(request)
  const begun = beginDownloadDecision(request.raw.url as string, request.headers.cookie, o)
  if (!('pending' in begun)) return answer(request, reply, o, begun)
  const cached = o.identity.store.getCached?.(begun.sessionId, (stored) => {
    try {
      const sending =
        stored === undefined
          ? answerFromStore(request, reply, o, begun)
          : answer(request, reply, o, finishDownloadDecision(begun, stored, o))
      sending?.catch((err) => failed(reply, err))
    } catch (err) {
      failed(reply, err)
    }
  })
  if (cached) return undefined
  return answerFromStore(request, reply, o, begun)
}

function answerFromStore(
  request: FastifyRequest,
  reply: FastifyReply,
  o: DownloadRouteOptions,
  pending: PendingDecision,
): Promise<unknown> {
  return finishWithStore(pending, o).then((outcome) => answer(request, reply, o, outcome))
}

/** A bug while answering outside Fastify's promise handling: its error handler answers 500. */
function failed(reply: FastifyReply, err: unknown): void {
  reply.send(err instanceof Error ? err : new Error(String(err)))
}

/** Sends the outcome; a promise only while direct delivery is still opening the file. */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  o: DownloadRouteOptions,
  outcome: DownloadOutcome,
): Promise<unknown> | undefined {
  recordDecision(request, outcome.record)
  if (!outcome.allow) {
    refuse(reply, outcome.error, outcome.headers)
    return undefined
  }
  if (o.mode === 'direct') {
    // Recorded above, before sending: the decision line is written as the reply goes out.
    return sendDirect(
      request,
      reply,
      o.filesRoot,
      outcome.segments,
      downloadHeaderList(outcome.segments, outcome.policy),
    ).then(() => reply)
  }
  sendAccel(reply.raw, accelReplyHeaders(o.internalPrefix, outcome.segments, outcome.policy))
  // Only once it is sent: had Node refused a header, the error handler's reply gets the line.
  o.writeDecision(request, reply)
  return undefined
}
