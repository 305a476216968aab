// Builds the Fastify app from a checked config and its already-created dependencies. No I/O here
// beyond what the plugins do on registration: server.ts creates stores and rule sets, tests inject
// their own.
import fastifyFormbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { registerAccelGuard } from './accel-guard.js'
import type { RuleSet } from './acl/index.js'
import type { GatewayConfig } from './config/gateway-config.js'
import { type DecisionWrite, recordDecision, registerDecisionLog } from './decision-log.js'
import {
  GW_ERR_BAD_PATH,
  GW_ERR_BAD_REQUEST,
  GW_ERR_INTERNAL,
  GW_ERR_METHOD,
  GW_ERR_NO_ROUTE,
  GW_ERR_STORE_UNAVAILABLE,
} from './errors.js'
import type { LoginUser } from './login/users-file.js'
import { registerDownloadRoute } from './routes/download.js'
import { registerHealthRoute } from './routes/health.js'
import { loginRoutes } from './routes/login.js'
import { refuse } from './routes/refuse.js'
import { type SessionStore, StoreUnavailableError } from './session/session-store.js'
import { SessionCookieVerifier } from './session/signed-cookie.js'

export interface AppDeps {
  readonly store: SessionStore
  readonly acl: { readonly current: RuleSet }
  /** Real path of the files root (direct delivery reads below it). */
  readonly realFilesRoot: string
  readonly users?: ReadonlyMap<string, LoginUser>
  /** Every line the app writes: decisions and unexpected errors. */
  readonly logger: Logger
}

export async function buildApp(config: GatewayConfig, deps: AppDeps): Promise<FastifyInstance> {
  // Set once the app exists; frameworkErrors below is configured before it does.
  let writeDecision: DecisionWrite | undefined
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
    // Bodies are only ever login forms.
    bodyLimit: 16 * 1024,
    // Router-level failures (a malformed URL, bad UTF-8) still get our JSON refusal and a log line.
    frameworkErrors: (error, request, reply) => {
      recordDecision(request, { code: 'GW_ERR_BAD_PATH', detail: error.code })
      refuse(reply, new GW_ERR_BAD_PATH(error.code))
      // Fastify answers these before routing, in a context without the app's hooks: onSend
      // (the decision log) never runs for them, so the line is written here or not at all.
      writeDecision?.(request, reply)
    },
  })

  writeDecision = registerDecisionLog(app, deps.logger)
  registerAccelGuard(app, writeDecision)
  await app.register(fastifyFormbody)

  app.setErrorHandler((error: Error, request, reply) => {
    if (error instanceof StoreUnavailableError) {
      recordDecision(request, { code: 'GW_ERR_STORE_UNAVAILABLE', detail: error.message })
      return refuse(reply, new GW_ERR_STORE_UNAVAILABLE(), { 'retry-after': '1' })
    }
    const status = (error as { statusCode?: number }).statusCode
    const code = (error as { code?: unknown }).code
    // Only Fastify's own client errors (an unparseable login body, a body too large) keep their
    // 4xx; anything else that throws is a bug whatever status it carries, and answers 500.
    if (status && status >= 400 && status < 500 && typeof code === 'string' && code.startsWith('FST_ERR_')) {
      recordDecision(request, { code, detail: error.message })
      return refuse(reply, Object.assign(new GW_ERR_BAD_REQUEST(), { statusCode: status }))
    }
    deps.logger.error({ reqId: request.id, err: error }, 'unexpected error')
    recordDecision(request, { code: 'GW_ERR_INTERNAL' })
    return refuse(reply, new GW_ERR_INTERNAL())
  })
  app.setNotFoundHandler((request, reply) => {
    // Methods Fastify does not route (PROPFIND, MKCOL, ...) land here: under the download prefix
    // they are still a wrong method, not a missing file.
    if (request.url.startsWith(config.delivery.routePrefix)) {
      recordDecision(request, { code: 'GW_ERR_METHOD' })
      return refuse(reply, new GW_ERR_METHOD(), { allow: 'GET, HEAD' })
    }
    recordDecision(request, { code: 'GW_ERR_NO_ROUTE' })
    return refuse(reply, new GW_ERR_NO_ROUTE())
  })

  const s = config.session
  registerDownloadRoute(app, {
    routePrefix: config.delivery.routePrefix,
    mode: config.delivery.mode,
    internalPrefix: config.delivery.internalPrefix,
    filesRoot: deps.realFilesRoot,
    writeDecision,
    cookieName: s.cookieName,
    acl: deps.acl,
    identity: {
      verifier: new SessionCookieVerifier(s.secrets, s.cookiePrefix),
      store: deps.store,
      userIdField: s.userIdField,
      groupsField: s.groupsField,
    },
  })
  registerHealthRoute(app, deps.store, () => deps.acl.current.ruleCount)
  if (config.login.enabled && deps.users) {
    await app.register(loginRoutes, {
      users: deps.users,
      store: deps.store,
      secrets: s.secrets,
      cookieName: s.cookieName,
      cookiePrefix: s.cookiePrefix,
      cookie: { ...s.cookie },
      maxAgeSeconds: s.maxAgeSeconds,
      userIdField: s.userIdField,
      groupsField: s.groupsField,
    })
  }
  return app
}
