// The real app (buildApp) with dependencies that fail on request: a session store that is down,
// throws, answers late or never, an ACL whose decide() throws, and test hooks that set X-Accel
// headers early or fail after the route set them. Each request picks its failure with cookies
// (cookieWithChaos), so one running gateway (with nginx in front, which forwards the client's
// Cookie header) serves every case and requests can run concurrently. The store behind the chaos
// is the real Redis store.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks'
import type { FastifyInstance } from 'fastify'
import type { Decision, RuleSet, Subject } from '../../src/acl/index.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import {
  type SessionData,
  type SessionStore,
  StoreUnavailableError,
} from '../../src/session/session-store.js'
import { listenOnLoopback, prepareGateway } from './gateway.js'
import { SCENARIO_ACL, withClientCache, X_ACCEL_REDIS_CONFIG } from './scenario.js'

export const STORE_MODES = [
  'ok',
  'unavailable',
  'late',
  'throw',
  'throw-sync',
  'throw-cached',
  'never',
] as const
export type StoreMode = (typeof STORE_MODES)[number]

export const ACL_MODES = ['real', 'throw', 'throw-value', 'throw-4xx', 'bogus-policy'] as const
export type AclMode = (typeof ACL_MODES)[number]

export const HOOK_MODES = [
  'none',
  'early-accel',
  'raw-accel',
  'prehandler-throw',
  'throw-200',
  'onsend-throw',
] as const
export type HookMode = (typeof HOOK_MODES)[number]

/** Every X-Accel header nginx acts on. */
export const ACCEL_HEADERS = [
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-charset',
  'x-accel-buffering',
  'x-accel-expires',
]

/** Where the early X-Accel header points: the report bob may not read. */
export const EARLY_TARGET = '/_protected/reports/q1.pdf'

/** What the early-accel and raw-accel hooks set: every X-Accel header nginx acts on. */
const EARLY_ACCEL: readonly (readonly [string, string])[] = [
  ['x-accel-redirect', EARLY_TARGET],
  ['x-accel-limit-rate', '0'],
  ['x-accel-charset', 'utf-8'],
  ['x-accel-buffering', 'no'],
  ['x-accel-expires', '3600'],
]

interface Chaos {
  store: StoreMode
  acl: AclMode
  hook: HookMode
}

// Each request names its failures in cookies (chaos-store, chaos-acl, chaos-hook) beside the
// session cookie: the Cookie header is the one client header nginx forwards to the gateway, so the
// same request works sent to the gateway directly and through nginx.
const CHAOS_COOKIE = /(?:^|;\s*)chaos-(store|acl|hook)=([a-z0-9-]+)/g

/**
 * The Cookie header for a request: `cookie` (a session cookie, or anything a client might send)
 * followed by the chaos cookies for every mode other than the default; undefined when empty.
 */
export function cookieWithChaos(
  cookie: string | null | undefined,
  modes: Partial<Chaos>,
): string | undefined {
  const parts = cookie ? [cookie] : []
  if (modes.store && modes.store !== 'ok') parts.push(`chaos-store=${modes.store}`)
  if (modes.acl && modes.acl !== 'real') parts.push(`chaos-acl=${modes.acl}`)
  if (modes.hook && modes.hook !== 'none') parts.push(`chaos-hook=${modes.hook}`)
  return parts.length > 0 ? parts.join('; ') : undefined
}

function chaosOf(cookieHeader: string | undefined): Chaos {
  const named: Record<string, string> = {}
  for (const m of (cookieHeader ?? '').matchAll(CHAOS_COOKIE)) named[m[1] as string] = m[2] as string
  return {
    store: pick(named.store, STORE_MODES, 'ok'),
    acl: pick(named.acl, ACL_MODES, 'real'),
    hook: pick(named.hook, HOOK_MODES, 'none'),
  }
}

export interface ChaosGateway {
  port: number
  app: FastifyInstance
  /** The real Redis store behind the chaos: seed sessions with it. */
  inner: RedisSessionStore
  logs(): Record<string, unknown>[]
  /** Session reads answered from the client cache (SessionStore.getCached) so far. */
  cachedReads(): number
  /** Store reads that were told never to answer and have not been released yet. */
  pendingNever(): number
  stop(): Promise<void>
}

function pick<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback
}

/**
 * Starts the chaos gateway in x-accel mode on a loopback port, files under `filesRoot`, sessions
 * in the Redis at `redisUrl`, SCENARIO_ACL rules and `usersYaml` logins. Cookies made by
 * cookieWithChaos choose the failure of each request.
 */
export async function startChaosGateway(o: {
  filesRoot: string
  redisUrl: string
  usersYaml: string
}): Promise<ChaosGateway> {
  const prepared = await prepareGateway({
    // The client cache on, so allowed downloads are also answered from memory, without a promise
    // (SessionStore.getCached): the chaos must reach that path too.
    configYaml: withClientCache(X_ACCEL_REDIS_CONFIG, true),
    aclFiles: { '10-test.yaml': SCENARIO_ACL },
    usersYaml: o.usersYaml,
    filesRoot: o.filesRoot,
    redisUrl: o.redisUrl,
  })
  const { config, acl: holder } = prepared
  const inner = new RedisSessionStore({ ...config.session.redis, onError: () => {} })
  await inner.connect()

  // The failure chosen by the request being served, visible to the store and the ACL below.
  const current = new AsyncLocalStorage<Chaos>()
  const never = new Set<(err: Error) => void>()
  let cachedReads = 0

  const store: SessionStore = {
    get(sessionId: string): Promise<SessionData | null> {
      switch (current.getStore()?.store ?? 'ok') {
        case 'unavailable':
          return Promise.reject(new StoreUnavailableError(new Error('chaos: store down')))
        case 'late':
          // What the Redis store's own command timeout turns a hung server into.
          return new Promise((_, reject) =>
            setTimeout(() => reject(new StoreUnavailableError(new Error('chaos: timed out'))), 60),
          )
        case 'throw':
          return Promise.reject(new TypeError('chaos: a bug in the store'))
        case 'throw-sync':
          throw new RangeError('chaos: a synchronous bug in the store')
        case 'never':
          return new Promise((_, reject) => never.add(reject))
        default:
          return inner.get(sessionId)
      }
    },
    getCached(sessionId, answer) {
      const mode = current.getStore()?.store ?? 'ok'
      if (mode === 'throw-cached') throw new RangeError('chaos: a synchronous bug in the cached read')
      // Every other failure is one of get(): such a request is not answered from memory.
      if (mode !== 'ok') return false
      // The answer runs in the cache's turn shared by several requests: bound to this one's
      // context, so the ACL and hooks below see the chaos this request chose.
      const fromMemory = inner.getCached(sessionId, AsyncResource.bind(answer))
      if (fromMemory) cachedReads++
      return fromMemory
    },
    getByCallback(sessionId, answer) {
      // The download path's read by callback: the same failures as get(), answered by callback
      // (a synchronous throw stays one, as a bug in the store would be).
      const mode = current.getStore()?.store ?? 'ok'
      if (mode === 'ok') return inner.getByCallback(sessionId, AsyncResource.bind(answer))
      store
        .get(sessionId)
        .then(answer, (err: unknown) => answer(err instanceof Error ? err : new Error(String(err))))
    },
    set: (id, data, ttl) => inner.set(id, data, ttl),
    destroy: (id) => inner.destroy(id),
    ping: () => inner.ping(),
    close: () => inner.close(),
  }

  const bogusDecision = (real: Decision): Decision => ({
    ...real,
    allow: true,
    policy: { ...real.policy, cacheControl: 'private\r\nX-Injected: 1', limitRate: 5 },
  })
  const chaosRules = (real: RuleSet): RuleSet =>
    new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'decide') return Reflect.get(target, prop, receiver)
        return (path: string, subject: Subject): Decision => {
          switch (current.getStore()?.acl ?? 'real') {
            case 'throw':
              throw new Error('chaos: decide failed')
            case 'throw-value':
              // Not an Error at all: some libraries throw strings.
              throw 'chaos: decide threw a string'
            case 'throw-4xx':
              throw Object.assign(new Error('chaos: decide failed with a status'), { statusCode: 418 })
            case 'bogus-policy':
              return bogusDecision(target.decide(path, subject))
            default:
              return target.decide(path, subject)
          }
        }
      },
    })
  const acl = {
    get current(): RuleSet {
      return chaosRules(holder.current)
    },
  }

  const app = await prepared.build(store, acl)
  // Hooks added after the app's own: the accel guard's onSend runs before the throwing one.
  app.addHook('onRequest', (request, reply, done) => {
    const chaos = chaosOf(request.headers.cookie)
    // A careless plugin: X-Accel headers on every reply, before any decision, set through
    // Fastify's reply or written on Node's response behind its back.
    if (chaos.hook === 'early-accel') for (const [name, value] of EARLY_ACCEL) reply.header(name, value)
    if (chaos.hook === 'raw-accel') for (const [name, value] of EARLY_ACCEL) reply.raw.setHeader(name, value)
    current.run(chaos, done)
  })
  app.addHook('preHandler', (_request, reply, done) => {
    const hook = current.getStore()?.hook
    if (hook === 'prehandler-throw' || hook === 'throw-200') {
      reply.code(200).header('x-accel-redirect', EARLY_TARGET)
      const err = new Error(`chaos: ${hook}`)
      done(hook === 'throw-200' ? Object.assign(err, { statusCode: 200 }) : err)
      return
    }
    done()
  })
  const failedOnSend = new WeakSet<object>()
  app.addHook('onSend', (request, _reply, payload, done) => {
    // Fails the first reply of the request that gets here, whatever it is; the error handler's
    // reply then goes through. The allowed download never passes through onSend at all.
    if (current.getStore()?.hook === 'onsend-throw' && !failedOnSend.has(request)) {
      failedOnSend.add(request)
      done(new Error('chaos: onSend failed'))
      return
    }
    done(null, payload)
  })
  const port = await listenOnLoopback(app)

  return {
    port,
    app,
    inner,
    logs: prepared.logs,
    cachedReads: () => cachedReads,
    pendingNever: () => never.size,
    async stop() {
      for (const reject of never) reject(new StoreUnavailableError(new Error('chaos: released at stop')))
      never.clear()
      await app.close()
      await inner.close().catch(() => {})
      await prepared.close()
    },
  }
}
