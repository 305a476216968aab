// Builds the Fastify app from a checked config and its already-created dependencies. No I/O here
// beyond what the plugins do on registration: server.ts creates stores and rule sets, tests inject
// their own.
import fastifyFormbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { RuleSet } from './acl/index.js'
import { DEFAULT_REFUSAL_PAGE, type RefusalPage } from './browser/refusal-page.js'
import type { GatewayConfig } from './config/gateway-config.js'
import type { CredentialStore } from './credentials/credential-store.js'
import {
  GW_ERR_BAD_PATH,
  GW_ERR_BAD_REQUEST,
  GW_ERR_INTERNAL,
  GW_ERR_METHOD,
  GW_ERR_NO_ROUTE,
  GW_ERR_STORE_UNAVAILABLE,
  withFields,
} from './errors.js'
import { accelGuard } from './http/accel-guard.js'
import { decisionLog } from './http/decision-log.js'
import { clientErrorHandler, expectationHandler } from './http/early-refusals.js'
import { refusalPages, refuse } from './http/refuse.js'
import { downloadRoutes } from './http/routes/download.js'
import { loginRoutes } from './http/routes/login.js'
import { probeRoutes } from './http/routes/probes.js'
import { shareRoutes } from './http/routes/share.js'
import { stopKeepalive } from './http/stop-keepalive.js'
import type { LoginUser } from './login/users-file.js'
import { Canary } from './ops/canary.js'
import type { GatewayMetrics } from './ops/metrics.js'
import { type SessionStore, StoreUnavailableError } from './session/session-store.js'
import { SessionCookieVerifier } from './session/signed-cookie.js'
import { createSessionSource } from './session/sources/create.js'
import type { AttemptCounters } from './throttle/attempt-counters.js'
import { createCounters } from './throttle/create-counters.js'
import { CredentialThrottle } from './throttle/credential-throttle.js'
import { LoginThrottle } from './throttle/login-throttle.js'

export interface AppDeps {
  readonly store: SessionStore
  readonly acl: { readonly current: RuleSet }
  /** Real path of the files root (direct delivery reads below it). */
  readonly realFilesRoot: string
  readonly users?: ReadonlyMap<string, LoginUser>
  /** Revoked links, link counts and tokens; without it links and Bearer tokens are not read. */
  readonly credentials?: CredentialStore
  /** Every line the app writes: decisions and unexpected errors. */
  readonly logger: Logger
  /** Counts every decision when metrics are on (ops/metrics.ts). */
  readonly metrics?: GatewayMetrics
  /** The session cookie verifier, when the caller reloads its secrets (ops/reload.ts). */
  readonly verifier?: SessionCookieVerifier
  /** The operator's refusal page (preflight.ts reads it); the built-in one when absent. */
  readonly refusalPage?: RefusalPage
  /** Where failed attempts are counted; by default what session.store implies, closed with the app. */
  readonly counters?: AttemptCounters
}

export async function buildApp(config: GatewayConfig, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // No logger for Fastify itself. With one, Fastify adds 'finish' and 'error' listeners to every
    // response and builds bindings for a request logger even with request logging off: 5% of the
    // Node CPU of a download (0.81-1.00 over 8 rounds, old and new side by side behind nginx).
    // Every line the gateway writes (decisions, unexpected errors, start-up, reloads) goes through
    // deps.logger. What is lost is Fastify's own warnings, all about mistakes in our code: a reply
    // sent twice, an error after the reply was sent, a stream that did not end, an error in the
    // error handler itself (Fastify still answers 500).
    logger: false,
    requestIdHeader: 'x-request-id',
    // Gives request.protocol (and .ip) from X-Forwarded-* when the peer is a trusted proxy: the
    // login's Secure cookie depends on it. A copy, as the config is frozen.
    trustProxy:
      typeof config.server.trustProxy === 'boolean'
        ? config.server.trustProxy
        : [...config.server.trustProxy],
    // Bodies are only ever login forms.
    bodyLimit: 16 * 1024,
    // A request that reaches a closing gateway on a connection nginx kept open is answered as
    // usual (with `Connection: close`), not with a 503 nginx would pass on to the client: a stop
    // or a rolling restart fails no request (http/stop-keepalive.ts).
    return503OnClosing: false,
    // Router-level failures (a malformed URL, bad UTF-8) still get our JSON refusal and a log line.
    frameworkErrors: (error, request, reply) => {
      refuse(request, reply, withFields(new GW_ERR_BAD_PATH(error.code), { detail: error.code }))
      // Fastify answers these before routing, in a context without the app's hooks: onSend
      // (the decision log) never runs for them, so the line is written here or not at all.
      app.writeDecision(request, reply)
    },
    // Requests Node's parser refuses never reach Fastify's routing: our refusal and line instead
    // of Fastify's generic 400 and silence.
    clientErrorHandler: clientErrorHandler(deps.logger),
  })
  app.server.on('checkExpectation', expectationHandler(deps.logger))

  // Order matters: the hooks and decorations first (every route depends on them), then routes.
  await app.register(decisionLog, { logger: deps.logger, onDecision: deps.metrics?.countDecision })
  await app.register(accelGuard)
  await app.register(refusalPages, { page: deps.refusalPage ?? DEFAULT_REFUSAL_PAGE })
  await app.register(stopKeepalive)
  await app.register(fastifyFormbody)

  app.setErrorHandler((error: Error, request, reply) => {
    if (error instanceof StoreUnavailableError) {
      return refuse(request, reply, withFields(new GW_ERR_STORE_UNAVAILABLE(), { detail: error.message }))
    }
    const status = (error as { statusCode?: number }).statusCode
    const code = (error as { code?: unknown }).code
    // Only Fastify's own client errors (an unparseable login body, a body too large) keep their
    // 4xx; anything else that throws is a bug whatever status it carries, and answers 500.
    if (status && status >= 400 && status < 500 && typeof code === 'string' && code.startsWith('FST_ERR_')) {
      // Fastify's own code goes to the line's detail: the reply keeps ours.
      const refusal = withFields(new GW_ERR_BAD_REQUEST(), { detail: `${code}: ${error.message}` })
      return refuse(request, reply, Object.assign(refusal, { statusCode: status }))
    }
    deps.logger.error({ reqId: request.id, err: error }, 'unexpected error')
    return refuse(request, reply, new GW_ERR_INTERNAL())
  })
  app.setNotFoundHandler((request, reply) => {
    // Methods Fastify does not route (PROPFIND, MKCOL, ...) land here: under the download prefix
    // they are still a wrong method, not a missing file.
    if (request.url.startsWith(config.delivery.routePrefix))
      return refuse(request, reply, new GW_ERR_METHOD())
    return refuse(request, reply, new GW_ERR_NO_ROUTE())
  })

  const s = config.session
  const b = config.browser
  // Shared by the download's source and the login, and given by the caller when it reloads the
  // secrets (ops/reload.ts).
  const verifier = deps.verifier ?? new SessionCookieVerifier(s.secrets, s.cookiePrefix)
  const source = createSessionSource(s, {
    store: deps.store,
    verifier,
    onStoreError: (err) =>
      deps.logger.error({ err: { message: err.message } }, 'session store connection error'),
  })
  // deps.store is its creator's to close (server.ts); connections a source opens itself (the
  // callback's to the main app, PHP's Redis) close with the app.
  if (s.source !== 'connect') app.addHook('onClose', () => source.close())
  const throttles = buildThrottles(app, config, deps)
  await app.register(downloadRoutes, {
    routePrefix: config.delivery.routePrefix,
    mode: config.delivery.mode,
    internalPrefix: config.delivery.internalPrefix,
    filesRoot: deps.realFilesRoot,
    objectRoots: config.delivery.roots,
    acl: deps.acl,
    ...(deps.credentials ? { credentials: { store: deps.credentials, linkKeys: config.links.keys } } : {}),
    ...(throttles ? { throttle: throttles.credentials } : {}),
    source,
    ...(b.loginRedirect
      ? {
          loginRedirect: {
            url: b.loginRedirect.url,
            returnParam: b.returnParam,
            routePrefix: config.delivery.routePrefix,
            publicOrigin: b.publicOrigin,
          },
        }
      : {}),
  })
  if (deps.credentials && (config.links.keys || config.links.edgeKeys)) {
    await app.register(shareRoutes, {
      source,
      acl: deps.acl,
      linkKeys: config.links.keys,
      edgeLinkKeys: config.links.edgeKeys,
      maxTtlSeconds: config.links.maxTtlSeconds,
      routePrefix: config.delivery.routePrefix,
    })
  }
  await app.register(probeRoutes, {
    ruleCount: () => deps.acl.current.ruleCount,
    pingSource: () => source.ping(),
    canary: config.ops.canary && new Canary(config.ops.canary),
  })
  if (config.login.enabled && deps.users) {
    await app.register(loginRoutes, {
      users: deps.users,
      store: deps.store,
      secrets: s.secrets,
      signer: verifier.liveSigner,
      cookieName: s.cookieName,
      cookiePrefix: s.cookiePrefix,
      cookie: { ...s.cookie },
      maxAgeSeconds: s.maxAgeSeconds,
      userIdField: s.userIdField,
      groupsField: s.groupsField,
      browser: {
        returnParam: b.returnParam,
        returnRules: { routePrefix: config.delivery.routePrefix, allowedOrigins: b.allowedReturnOrigins },
      },
      ...(throttles ? { throttle: throttles.login } : {}),
    })
  }
  return app
}

/** The login and credential throttles, over counters given or made here (and closed with the app). */
function buildThrottles(app: FastifyInstance, config: GatewayConfig, deps: AppDeps) {
  const limits = config.rateLimit
  const used = (config.login.enabled && deps.users !== undefined) || deps.credentials !== undefined
  if (!limits.enabled || !used) return undefined
  let counters = deps.counters
  if (counters === undefined) {
    const own = createCounters(config.session.store, {
      ...config.session.redis,
      // Its own keys (`gw:rl:`), not the sessions' prefix.
      keyPrefix: undefined,
      onError: (err) =>
        deps.logger.error({ err: { message: err.message } }, 'rate limit store connection error'),
    })
    app.addHook('onClose', () => own.close())
    counters = own
  }
  return {
    login: new LoginThrottle(counters, limits.login),
    credentials: new CredentialThrottle(counters, limits.credentials),
  }
}
