// POST /links on the public app: a logged-in user shares a file they may read, when the rule
// under it says `share: {max_ttl: ...}`, for at most that long (and at most links.max_ttl). Only
// single files: a folder link would reach files deeper rules keep from this user. The session is
// read exactly as a download reads it; the link is signed with the newest link key.
//
// CSRF: the session cookie rides along on any cross-site POST, so the body must be JSON; a
// cross-site HTML form cannot send `application/json`, and a script on another site cannot
// without a CORS preflight the gateway never answers.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RuleSet } from '../../acl/index.js'
import { issueLinkOfKind, LINK_KINDS, type LinkKind, linkSummaryJson } from '../../credentials/issue.js'
import type { LinkKeyRing } from '../../credentials/links/link-keys.js'
import { linkTarget } from '../../credentials/links/share-link.js'
import { parseDuration } from '../../duration.js'
import {
  GW_ERR_BAD_REQUEST,
  GW_ERR_DENIED,
  GW_ERR_HIDDEN,
  GW_ERR_NO_SESSION,
  GW_ERR_SHARE_NOT_ALLOWED,
  GW_ERR_UNSUPPORTED_MEDIA,
  withFields,
} from '../../errors.js'
import { type IdentityResult, isPendingRead, type SessionSource } from '../../session/session-source.js'
import { recordDecision, startDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'

export interface ShareRouteOptions {
  readonly source: SessionSource
  readonly acl: { readonly current: RuleSet }
  readonly linkKeys: LinkKeyRing | null
  readonly edgeLinkKeys: LinkKeyRing | null
  readonly maxTtlSeconds: number
  readonly routePrefix: string
}

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'ttl'],
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 4096 },
    ttl: { type: 'string' },
    max_downloads: { type: 'integer', minimum: 1 },
    kind: { type: 'string', enum: LINK_KINDS },
  },
} as const

export const shareRoutes = fp<ShareRouteOptions>(async (app, o) => registerShareRoute(app, o), {
  name: 'gateway-share-route',
  dependencies: ['gateway-decision-log'],
})

function registerShareRoute(app: FastifyInstance, o: ShareRouteOptions): void {
  app.post<{ Body: { path: string; ttl: string; max_downloads?: number; kind?: LinkKind } }>(
    '/links',
    {
      // Checked before the body is parsed: a form post never reaches the session or the rules.
      onRequest: async (request, reply) => {
        const type = request.headers['content-type'] ?? ''
        if (!/^application\/json\s*(;|$)/i.test(type))
          return refuse(request, reply, withFields(new GW_ERR_UNSUPPORTED_MEDIA(), { detail: 'share' }))
      },
      schema: { body },
    },
    async (request, reply) => {
      startDecision(request)
      const identified = o.source.identify(request.headers.cookie)
      const who: IdentityResult = isPendingRead(identified) ? await o.source.read(identified) : identified
      const b = request.body
      if (!who.ok) {
        const error = new (who.reason ?? GW_ERR_NO_SESSION)()
        return refuse(request, reply, withFields(error, { detail: `share: ${who.why ?? 'no session'}` }))
      }
      const user = who.identity.user
      const target = linkTarget(b.path)
      if (!target.ok || target.folder) {
        const detail = target.ok ? 'share: a folder cannot be shared by its readers' : target.message
        return refuse(request, reply, withFields(new GW_ERR_BAD_REQUEST(), { user, detail }))
      }
      const decision = o.acl.current.decide(target.path, who.identity)
      const fields = { path: target.path, user, rule: decision.rule?.id ?? null }
      if (!decision.allow) {
        const error = decision.policy.refusal === 404 ? new GW_ERR_HIDDEN() : new GW_ERR_DENIED()
        return refuse(request, reply, withFields(error, { ...fields, detail: `share: ${decision.reason}` }))
      }
      const allowed = decision.policy.shareMaxTtl
      const ttl = parseDuration(b.ttl)
      if (allowed === undefined || (ttl !== null && ttl > allowed)) {
        const detail =
          allowed === undefined ? 'share: the rule does not allow sharing' : `share: ttl over ${allowed} s`
        return refuse(request, reply, withFields(new GW_ERR_SHARE_NOT_ALLOWED(), { ...fields, detail }))
      }
      const issued = issueLinkOfKind(
        b.kind ?? 'share',
        {
          path: b.path,
          ttl: b.ttl,
          issuer: user,
          ...(b.max_downloads ? { maxDownloads: b.max_downloads } : {}),
        },
        {
          shareKeys: o.linkKeys,
          edgeKeys: o.edgeLinkKeys,
          maxTtlSeconds: Math.min(allowed, o.maxTtlSeconds),
          routePrefix: o.routePrefix,
          // An edge link is delivered as this user's own download of the file would be.
          policyFor: () => decision.policy,
        },
      )
      if (!issued.ok)
        return refuse(
          request,
          reply,
          withFields(new GW_ERR_BAD_REQUEST(), { ...fields, detail: issued.message }),
        )
      const l = issued.value
      recordDecision(request, { code: 'GW_LINK_SHARED', ...fields, detail: `${l.kind} link:${l.id}` })
      return reply.code(201).header('cache-control', 'no-store').send(linkSummaryJson(l, false))
    },
  )
}
