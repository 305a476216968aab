// The credential store the config asks for (Redis beside the sessions, or in this process), the
// rate limit's counters beside it, and the admin listener's app: the admin API only, with the same refusal and decision-line plumbing as
// the public app, on `admin.host:admin.port`, which nginx never proxies (docs/links-and-tokens.md).
// Kept out of server.ts so tests start the very same.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { RuleSet } from './acl/index.js'
import type { GatewayConfig } from './config/gateway-config.js'
import { type CredentialStore, CredentialStoreUnavailableError } from './credentials/credential-store.js'
import { MemoryCredentialStore } from './credentials/memory-credential-store.js'
import { RedisCredentialStore } from './credentials/redis-credential-store.js'
import {
  GW_ERR_BAD_REQUEST,
  GW_ERR_INTERNAL,
  GW_ERR_NO_ROUTE,
  GW_ERR_STORE_UNAVAILABLE,
  withFields,
} from './errors.js'
import { accelGuard } from './http/accel-guard.js'
import { decisionLog } from './http/decision-log.js'
import { refuse } from './http/refuse.js'
import { adminRoutes } from './http/routes/admin.js'
import { type AttemptCounters, CountersUnavailableError } from './throttle/attempt-counters.js'
import { createCounters } from './throttle/create-counters.js'

export async function buildAdminApp(
  config: GatewayConfig & { readonly admin: NonNullable<GatewayConfig['admin']> },
  deps: {
    readonly credentials: CredentialStore
    readonly logger: Logger
    /** The rules: an edge link carries the response policy they give its file. */
    readonly acl: { readonly current: RuleSet }
    /** Where failed attempts are counted; undefined with rate limiting off. */
    readonly counters: AttemptCounters | undefined
  },
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 })
  await app.register(decisionLog, { logger: deps.logger.child({ listener: 'admin' }) })
  await app.register(accelGuard)
  app.setErrorHandler((error: Error, request, reply) => {
    if (error instanceof CredentialStoreUnavailableError || error instanceof CountersUnavailableError)
      return refuse(request, reply, withFields(new GW_ERR_STORE_UNAVAILABLE(), { detail: error.message }))
    const status = (error as { statusCode?: number }).statusCode
    if (status && status >= 400 && status < 500) {
      const refusal = withFields(new GW_ERR_BAD_REQUEST(), { detail: error.message })
      return refuse(request, reply, Object.assign(refusal, { statusCode: status }))
    }
    deps.logger.error({ reqId: request.id, err: error }, 'unexpected error')
    return refuse(request, reply, new GW_ERR_INTERNAL())
  })
  app.setNotFoundHandler((request, reply) => refuse(request, reply, new GW_ERR_NO_ROUTE()))
  await app.register(adminRoutes, {
    adminToken: config.admin.token,
    store: deps.credentials,
    linkKeys: config.links.keys,
    edgeLinkKeys: config.links.edgeKeys,
    acl: deps.acl,
    maxTtlSeconds: config.links.maxTtlSeconds,
    routePrefix: config.delivery.routePrefix,
    counters: deps.counters,
  })
  return app
}

export interface RunningCredentials {
  readonly store: CredentialStore
  /**
   * Where failed logins and link or token guesses are counted (undefined with rate limiting off):
   * the public app's throttles count here and the admin API's unlock drops counts here.
   */
  readonly counters: AttemptCounters | undefined
  /** Built, not yet listening (listenAdmin). */
  readonly admin: FastifyInstance | null
  /** Resolves once the store is connected (at once for the embedded one); never rejects. */
  readonly ready: Promise<void>
  close(): Promise<void>
}

export async function startCredentials(
  config: GatewayConfig,
  log: Logger,
  acl: { readonly current: RuleSet },
): Promise<RunningCredentials> {
  let store: CredentialStore
  let ready = Promise.resolve()
  if (config.session.store === 'redis') {
    const r = config.session.redis
    const redis = new RedisCredentialStore({
      ...r,
      // Its own keys (`gw:`), not the sessions' prefix.
      keyPrefix: undefined,
      onError: (err) => log.error({ err: { message: err.message } }, 'credential store connection error'),
    })
    // Like the session store: start at once, answer 503 to link and token downloads until connected.
    ready = redis.connect().catch(() => {})
    store = redis
  } else {
    store = new MemoryCredentialStore()
  }
  const counters = config.rateLimit.enabled
    ? createCounters(config.session.store, {
        ...config.session.redis,
        // Its own keys (`gw:rl:`), not the sessions' prefix.
        keyPrefix: undefined,
        onError: (err) => log.error({ err: { message: err.message } }, 'rate limit store connection error'),
      })
    : undefined
  const adminConfig = config.admin
  const admin = adminConfig
    ? await buildAdminApp(
        { ...config, admin: adminConfig },
        { credentials: store, logger: log, acl, counters },
      )
    : null
  return {
    store,
    counters,
    admin,
    ready,
    async close() {
      await admin?.close()
      await store.close()
      await counters?.close()
    },
  }
}

/** Listens on the admin address; resolves to the port bound. */
export async function listenAdmin(admin: FastifyInstance, config: GatewayConfig): Promise<number> {
  await admin.listen({ host: config.admin?.host ?? '127.0.0.1', port: config.admin?.port ?? 0 })
  const address = admin.server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}
