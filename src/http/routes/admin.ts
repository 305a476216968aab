// The admin API, on its own listener that nginx never proxies: issues and revokes share links and
// access tokens for the main app or an operator. Every request carries the admin token as a
// Bearer token; the comparison is constant-time over SHA-256 digests so neither its value nor its
// length leaks. Tokens and links are shown once in the answer and never written to a log line.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RuleSet } from '../../acl/index.js'
import type { CredentialStore } from '../../credentials/credential-store.js'
import {
  issueLinkOfKind,
  issueToken,
  LINK_KINDS,
  type LinkKind,
  linkSummaryJson,
} from '../../credentials/issue.js'
import type { LinkKeyRing } from '../../credentials/links/link-keys.js'
import { LINK_ID_PATTERN } from '../../credentials/links/share-link.js'
import { bearerToken, TOKEN_ID_PATTERN } from '../../credentials/tokens/access-token.js'
import { GW_ERR_ADMIN_UNAUTHORIZED, GW_ERR_BAD_REQUEST, GW_ERR_NO_ROUTE, withFields } from '../../errors.js'
import type { AttemptCounters } from '../../throttle/attempt-counters.js'
import { type UnlockTarget, unlock } from '../../throttle/unlock.js'
import { recordDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'

export interface AdminRouteOptions {
  readonly adminToken: string
  readonly store: CredentialStore
  readonly linkKeys: LinkKeyRing | null
  readonly edgeLinkKeys: LinkKeyRing | null
  readonly acl: { readonly current: RuleSet }
  readonly maxTtlSeconds: number
  readonly routePrefix: string
  /** Where failed attempts are counted; without it (rate limiting off) there is nothing to unlock. */
  readonly counters?: AttemptCounters | undefined
}

const digest = (s: string) => createHash('sha256').update(s).digest()

const linkBody = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'ttl', 'issuer'],
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 4096 },
    ttl: { type: 'string' },
    issuer: { type: 'string', minLength: 1, maxLength: 200 },
    max_downloads: { type: 'integer', minimum: 1 },
    kind: { type: 'string', enum: LINK_KINDS },
  },
} as const

const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user', 'ttl'],
  properties: {
    user: { type: 'string', minLength: 1, maxLength: 200 },
    groups: { type: 'array', items: { type: 'string', minLength: 1 } },
    ttl: { type: 'string' },
    scope: { type: 'string', minLength: 1 },
  },
} as const

const unlockBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    account: { type: 'string', minLength: 1, maxLength: 200 },
    address: { type: 'string', minLength: 2, maxLength: 64 },
  },
} as const

export const adminRoutes = fp<AdminRouteOptions>(async (app, o) => registerAdminRoutes(app, o), {
  name: 'gateway-admin-routes',
  dependencies: ['gateway-decision-log'],
})

function registerAdminRoutes(app: FastifyInstance, o: AdminRouteOptions): void {
  const expected = digest(o.adminToken)
  app.addHook('onRequest', async (request, reply) => {
    const given = bearerToken(request.headers.authorization ?? '')
    if (given === undefined || !timingSafeEqual(digest(given), expected))
      return refuse(request, reply, withFields(new GW_ERR_ADMIN_UNAUTHORIZED(), { detail: 'admin' }))
  })

  app.post<{
    Body: { path: string; ttl: string; issuer: string; max_downloads?: number; kind?: LinkKind }
  }>('/links', { schema: { body: linkBody } }, async (request, reply) => {
    const b = request.body
    const issued = issueLinkOfKind(
      b.kind ?? 'share',
      {
        path: b.path,
        ttl: b.ttl,
        issuer: b.issuer,
        ...(b.max_downloads ? { maxDownloads: b.max_downloads } : {}),
      },
      {
        shareKeys: o.linkKeys,
        edgeKeys: o.edgeLinkKeys,
        maxTtlSeconds: o.maxTtlSeconds,
        routePrefix: o.routePrefix,
        // The caller vouches for the issuer's right to share; the rules still say how it is delivered.
        policyFor: (aclPath) => o.acl.current.decide(aclPath, { user: b.issuer, groups: [] }).policy,
      },
    )
    if (!issued.ok)
      return refuse(request, reply, withFields(new GW_ERR_BAD_REQUEST(), { detail: issued.message }))
    const l = issued.value
    recordDecision(request, {
      code: 'GW_ADMIN_LINK_CREATED',
      path: l.path,
      user: l.issuer,
      rule: `link:${l.id}`,
      detail: `${l.kind} link`,
    })
    return reply.code(201).send(linkSummaryJson(l, true))
  })

  app.delete<{ Params: { id: string } }>('/links/:id', async (request, reply) => {
    const id = request.params.id
    if (!LINK_ID_PATTERN.test(id)) return refuse(request, reply, new GW_ERR_NO_ROUTE())
    // A link id does not say when its link expires: remember the revocation as long as any link lives.
    await o.store.revokeLink(id, Math.floor(Date.now() / 1000) + o.maxTtlSeconds)
    recordDecision(request, { code: 'GW_ADMIN_LINK_REVOKED', rule: `link:${id}` })
    return reply.code(204).send()
  })

  app.post<{ Body: { user: string; groups?: string[]; ttl: string; scope?: string } }>(
    '/tokens',
    { schema: { body: tokenBody } },
    async (request, reply) => {
      const b = request.body
      const issued = issueToken({
        user: b.user,
        groups: b.groups ?? [],
        ttl: b.ttl,
        ...(b.scope === undefined ? {} : { scope: b.scope }),
      })
      if (!issued.ok)
        return refuse(request, reply, withFields(new GW_ERR_BAD_REQUEST(), { detail: issued.message }))
      const r = issued.value.record
      await o.store.putToken(r)
      recordDecision(request, { code: 'GW_ADMIN_TOKEN_CREATED', user: r.user, rule: `token:${r.id}` })
      return reply.code(201).send({
        id: r.id,
        token: issued.value.token,
        user: r.user,
        groups: r.groups,
        scope: r.scope ?? null,
        expires_at: new Date(r.expiresAt * 1000).toISOString(),
      })
    },
  )

  app.delete<{ Params: { id: string } }>('/tokens/:id', async (request, reply) => {
    const id = request.params.id
    if (!TOKEN_ID_PATTERN.test(id) || !(await o.store.revokeToken(id)))
      return refuse(request, reply, withFields(new GW_ERR_NO_ROUTE(), { detail: 'no such token' }))
    recordDecision(request, { code: 'GW_ADMIN_TOKEN_REVOKED', rule: `token:${id}` })
    return reply.code(204).send()
  })

  const counters = o.counters
  if (counters === undefined) return
  app.post<{ Body: UnlockTarget }>(
    '/throttle/unlock',
    { schema: { body: unlockBody } },
    async (request, reply) => {
      const done = await unlock(counters, request.body)
      if (!done.ok)
        return refuse(request, reply, withFields(new GW_ERR_BAD_REQUEST(), { detail: done.message }))
      const { account } = request.body
      recordDecision(request, {
        code: 'GW_ADMIN_THROTTLE_LIFTED',
        ...(account === undefined ? {} : { user: account }),
        detail: `${done.cleared} counts dropped${done.network === undefined ? '' : ` for ${done.network}`}`,
      })
      return reply.code(200).send({
        account: account ?? null,
        network: done.network ?? null,
        cleared: done.cleared,
      })
    },
  )
}
