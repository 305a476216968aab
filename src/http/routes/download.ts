// GET/HEAD <route prefix><path>: the one decision this service exists for. The decision itself is
// in src/decision/; this plugin answers it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { decideWithCredential } from '../../decision/credential-decision.js'
import {
  beginDownloadDecision,
  type DownloadDecisionOptions,
  type DownloadOutcome,
  finishDownloadDecision,
  finishWithAnswer,
  finishWithRead,
  type PendingDecision,
} from '../../decision/download-decision.js'
import { accelReplyHeaders, downloadHeaderList } from '../../delivery/accel-headers.js'
import { objectAccelReplyHeaders } from '../../delivery/object-accel.js'
import { chooseObjectRoot, type ObjectRoot } from '../../delivery/object-roots.js'
import { sendAccel } from '../../delivery/send-accel.js'
import { sendDirect } from '../../delivery/send-direct.js'
import { GW_ERR_METHOD, GW_ERR_NOT_FOUND, withFields } from '../../errors.js'
import type { CredentialThrottle } from '../../throttle/credential-throttle.js'
import { type DecisionWrite, recordDecision, startDecision } from '../decision-log.js'
import { type LoginRedirectOptions, redirectToLogin, sendsToLogin } from '../login-redirect.js'
import { refuse } from '../refuse.js'
import { countGuess, credentialBlocked, isGuess } from '../throttling.js'

export interface DownloadRouteOptions extends DownloadDecisionOptions {
  /** Counts link and token values that do not verify; never asked on a session download. */
  readonly throttle?: CredentialThrottle
  readonly mode: 'x-accel' | 'direct'
  readonly internalPrefix: string
  /** Real path of the files root, for direct delivery. */
  readonly filesRoot: string
  /** Folders served from buckets, longest prefix first (x-accel mode only). */
  readonly objectRoots: readonly ObjectRoot[]
  /** Where anonymous browsers are sent to log in; undefined: they get the refusal. */
  readonly loginRedirect?: LoginRedirectOptions
}

interface RouteContext extends DownloadRouteOptions {
  /** Writes the decision line of a reply sent outside Fastify's hooks (the allowed x-accel 200). */
  readonly writeDecision: DecisionWrite
}

export const downloadRoutes = fp<DownloadRouteOptions>(
  async (app, options) => registerDownloadRoute(app, { ...options, writeDecision: app.writeDecision }),
  { name: 'gateway-download-route', dependencies: ['gateway-decision-log', 'gateway-accel-guard'] },
)

function registerDownloadRoute(app: FastifyInstance, o: RouteContext): void {
  const url = `${o.routePrefix}*`
  app.route({ method: ['GET', 'HEAD'], url, handler: (request, reply) => handleDownload(request, reply, o) })
  // Every other method Fastify knows gets a clear 405 (the not-found handler takes the methods it
  // does not route), refused in onRequest, before any body is read or parsed.
  app.route({
    method: app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD'),
    url,
    onRequest: (request, reply) => {
      refuse(request, reply, new GW_ERR_METHOD())
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
  o: RouteContext,
): Promise<unknown> | undefined {
  startDecision(request)
  const begun = beginDownloadDecision(
    request.raw.url as string,
    request.headers.cookie,
    o,
    request.headers.authorization,
  )
  if ('credential' in begun) {
    const credentials = o.credentials
    if (credentials === undefined)
      throw new Error('unreachable: credentials are checked only when configured')
    const throttle = o.throttle
    const blocked = throttle ? credentialBlocked(request, throttle, begun) : null
    if (blocked !== null) return answer(request, reply, o, blocked)
    // By callback, like a session read below: only a guess waits on a promise (its count).
    decideWithCredential(begun, o, credentials, (result) => {
      try {
        if (result instanceof Error) {
          failed(reply, result)
          return
        }
        const sending =
          throttle && !result.allow && isGuess(result)
            ? countGuess(request, throttle, begun, result).then((counted) =>
                answer(request, reply, o, counted),
              )
            : answer(request, reply, o, result)
        sending?.catch((err) => failed(reply, err))
      } catch (err) {
        failed(reply, err)
      }
    })
    return undefined
  }
  if (!('pending' in begun)) return answer(request, reply, o, begun)
  const cached = o.source.readCached?.(begun.read, (identity) => {
    try {
      const sending =
        identity === undefined
          ? answerFromRead(request, reply, o, begun)
          : answer(request, reply, o, finishDownloadDecision(begun.canonical, identity, o))
      sending?.catch((err) => failed(reply, err))
    } catch (err) {
      failed(reply, err)
    }
  })
  if (cached) return undefined
  // Without the cache: the store's one read by callback where it can, again without a promise
  // chain of our own (0.93x the Node CPU per download of the chain, side by side, cache off).
  const byCallback = o.source.readByCallback?.(begun.read, (answered) => {
    try {
      answer(request, reply, o, finishWithAnswer(begun, answered, o))?.catch((err) => failed(reply, err))
    } catch (err) {
      failed(reply, err)
    }
  })
  if (byCallback) return undefined
  return answerFromRead(request, reply, o, begun)
}

function answerFromRead(
  request: FastifyRequest,
  reply: FastifyReply,
  o: RouteContext,
  pending: PendingDecision,
): Promise<unknown> {
  return finishWithRead(pending, o).then((outcome) => answer(request, reply, o, outcome))
}

/** A bug while answering outside Fastify's promise handling: its error handler answers 500. */
function failed(reply: FastifyReply, err: unknown): void {
  reply.send(err instanceof Error ? err : new Error(String(err)))
}

/** Sends the outcome; a promise only while direct delivery is still opening the file. */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  o: RouteContext,
  outcome: DownloadOutcome,
): Promise<unknown> | undefined {
  if (!outcome.allow) {
    if (o.loginRedirect !== undefined && sendsToLogin(request, outcome.error))
      redirectToLogin(request, reply, outcome.error, o.loginRedirect)
    else refuse(request, reply, outcome.error)
    return undefined
  }
  recordDecision(request, outcome.record)
  if (o.mode === 'direct') {
    // Recorded above, before sending: the decision line is written as the reply goes out.
    return sendDirect(
      request,
      reply,
      o.filesRoot,
      outcome.segments,
      downloadHeaderList(outcome.segments, outcome.policy),
    ).then((sent) => {
      // Allowed, but nothing servable there: the decision becomes a 404 with its reason.
      if (sent !== 'sent')
        refuse(request, reply, withFields(new GW_ERR_NOT_FOUND(), { ...outcome.record, detail: sent }))
      return reply
    })
  }
  // Where the bytes come from, chosen after the decision and never part of it.
  const inBucket = o.objectRoots.length > 0 ? chooseObjectRoot(o.objectRoots, outcome.segments) : undefined
  sendAccel(
    reply.raw,
    inBucket === undefined
      ? accelReplyHeaders(o.internalPrefix, outcome.segments, outcome.policy)
      : objectAccelReplyHeaders(
          inBucket,
          outcome.segments,
          outcome.policy,
          request.method === 'HEAD' ? 'HEAD' : 'GET',
          new Date(),
        ),
  )
  // Only once it is sent: had Node refused a header, the error handler's reply gets the line.
  o.writeDecision(request, reply)
  return undefined
}
