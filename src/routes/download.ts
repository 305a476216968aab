// GET/HEAD <route prefix><path>: the one decision this service exists for.
// Data flows one way: raw path -> canonical path -> identity -> ACL decision -> delivery headers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { markAccelAllowed } from '../accel-guard.js'
import type { RuleRef, RuleSet, Subject } from '../acl/index.js'
import { recordDecision } from '../decision-log.js'
import { accelRedirectTarget, downloadHeaders } from '../delivery/accel-headers.js'
import { sendDirect } from '../delivery/send-direct.js'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_BAD_PATH,
  GW_ERR_DENIED,
  GW_ERR_HIDDEN,
  GW_ERR_METHOD,
  GW_ERR_NO_SESSION,
  GW_ERR_PATH_TOO_LONG,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_STORE_UNAVAILABLE,
} from '../errors.js'
import { canonicalizeRequestPath } from '../paths/canonical-path.js'
import { readCookie } from '../session/cookie-header.js'
import { type IdentityResolverOptions, resolveIdentity } from '../session/resolve-identity.js'
import { StoreUnavailableError } from '../session/session-store.js'
import { refuse } from './refuse.js'

export interface DownloadRouteOptions {
  readonly routePrefix: string
  readonly mode: 'x-accel' | 'direct'
  readonly internalPrefix: string
  /** Real path of the files root, for direct delivery. */
  readonly filesRoot: string
  readonly cookieName: string
  readonly identity: IdentityResolverOptions
  readonly acl: { readonly current: RuleSet }
}

const ANONYMOUS: Subject = Object.freeze({ user: null, groups: Object.freeze([]) as readonly string[] })

// Why a request is anonymous decides which 401 it gets.
const ANONYMOUS_REFUSALS = {
  GW_ERR_NO_SESSION,
  GW_ERR_BAD_COOKIE,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
} as const

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

// `id@file:line` for logs, made once per rule rather than on every download.
const ruleLabels = new WeakMap<RuleRef, string>()
function ruleLabel(ref: RuleRef): string {
  let label = ruleLabels.get(ref)
  if (label === undefined) {
    label = `${ref.id}@${ref.file}:${ref.line}`
    ruleLabels.set(ref, label)
  }
  return label
}

async function handleDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  o: DownloadRouteOptions,
): Promise<unknown> {
  const canonical = canonicalizeRequestPath(request.raw.url as string, o.routePrefix)
  if (!canonical.ok) {
    recordDecision(request, { code: 'GW_ERR_BAD_PATH', detail: canonical.reason })
    return refuse(
      reply,
      canonical.reason === 'too-long' ? new GW_ERR_PATH_TOO_LONG() : new GW_ERR_BAD_PATH(canonical.reason),
    )
  }

  let subject = ANONYMOUS
  let anonymousReason: keyof typeof ANONYMOUS_REFUSALS = 'GW_ERR_NO_SESSION'
  try {
    const result = await resolveIdentity(readCookie(request.headers.cookie, o.cookieName), o.identity)
    if (result.ok) subject = result.identity
    else anonymousReason = result.reason
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    // Fail closed: without the store we cannot know who this is, so nobody gets a file.
    recordDecision(request, { code: 'GW_ERR_STORE_UNAVAILABLE', path: canonical.path, detail: err.message })
    return refuse(reply, new GW_ERR_STORE_UNAVAILABLE(), { 'retry-after': '1' })
  }

  const decision = o.acl.current.decide(canonical.aclPath, subject)
  const rule = decision.rule ? ruleLabel(decision.rule) : null
  if (!decision.allow) {
    if (decision.policy.refusal === 404) {
      recordDecision(request, {
        code: 'GW_ERR_HIDDEN',
        path: canonical.path,
        user: subject.user,
        rule,
        detail: decision.reason,
      })
      return refuse(reply, new GW_ERR_HIDDEN())
    }
    if (subject.user === null) {
      recordDecision(request, {
        code: anonymousReason,
        path: canonical.path,
        user: null,
        rule,
        detail: decision.reason,
      })
      return refuse(reply, new ANONYMOUS_REFUSALS[anonymousReason]())
    }
    recordDecision(request, {
      code: 'GW_ERR_DENIED',
      path: canonical.path,
      user: subject.user,
      rule,
      detail: decision.reason,
    })
    return refuse(reply, new GW_ERR_DENIED())
  }

  const headers = downloadHeaders(canonical.segments, decision.policy)
  if (o.mode === 'direct') {
    // Recorded before sending: the decision line is written as the reply goes out.
    recordDecision(request, {
      code: 'GW_ALLOW',
      path: canonical.path,
      user: subject.user,
      rule,
      detail: decision.reason,
    })
    await sendDirect(request, reply, o.filesRoot, canonical.segments, headers)
    return reply
  }

  recordDecision(request, {
    code: 'GW_ALLOW',
    path: canonical.path,
    user: subject.user,
    rule,
    detail: decision.reason,
  })
  reply.code(200).headers(headers)
  if (decision.policy.limitRate > 0) reply.header('x-accel-limit-rate', String(decision.policy.limitRate))
  // Set last, right before sending: nothing after this line can fail and leave it on an error reply.
  markAccelAllowed(reply)
  reply.header('x-accel-redirect', accelRedirectTarget(o.internalPrefix, canonical.segments))
  return reply.send()
}
