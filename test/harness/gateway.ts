// Starts the real gateway in this process on a free loopback port, from a config written the way an
// operator would write it (YAML files in a temp folder), with the real stores. Tests keep access to
// the store and to every log line the gateway wrote.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { AclHolder, type RuleSet } from '../../src/acl/index.js'
import { listenAdmin, type RunningCredentials, startCredentials } from '../../src/admin-app.js'
import { type AppDeps, buildApp } from '../../src/app.js'
import type { GatewayConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { publishedPasswordRefusal } from '../../src/login/published-password.js'
import { loadUsersFile } from '../../src/login/users-file.js'
import { instrument } from '../../src/ops/instrument.js'
import type { GatewayMetrics } from '../../src/ops/metrics.js'
import { type MetricsServer, startMetricsServer } from '../../src/ops/metrics-server.js'
import { Reloader, UsersHolder } from '../../src/ops/reload.js'
import { refusalPageOf } from '../../src/preflight.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import type { SessionStore } from '../../src/session/session-store.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789'

export interface GatewayOptions {
  /** YAML text of the gateway config; `${FILES_ROOT}` and `${REDIS_URL}` are filled in. */
  configYaml: string
  /** ACL files by name, written into acl.d/. */
  aclFiles: Record<string, string>
  /** users.yaml text when login is enabled. */
  usersYaml?: string
  filesRoot: string
  redisUrl?: string
  env?: Record<string, string>
  /** Metrics on, as the server wires them, with the listener on a free loopback port. */
  metrics?: boolean
}

export interface RunningGateway {
  port: number
  baseUrl: string
  app: FastifyInstance
  store: SessionStore
  acl: AclHolder
  config: GatewayConfig
  /** Links and tokens: the same store the server would start. */
  credentials: RunningCredentials
  /** The admin API's base URL when the config has an `admin` section. */
  adminUrl: string | null
  dir: string
  /** Reloads rules, users and secrets as SIGHUP does in the server. */
  reloader: Reloader
  /** With `metrics`: the metrics and their listener. */
  metrics?: { metrics: GatewayMetrics; server: MetricsServer }
  /** Every JSON line the gateway logged so far. */
  logs(): Record<string, unknown>[]
  logText(): string
  stop(): Promise<void>
}

/** What the real and the chaos harness share before they build the app. */
export interface PreparedGateway {
  dir: string
  config: GatewayConfig
  acl: AclHolder
  log: pino.Logger
  /** The login's users (reloadable), when login is on. */
  users: UsersHolder | undefined
  /** The cookie verifier the app uses; its secrets are reloadable. */
  verifier: SessionCookieVerifier
  /** The environment the config was read with (the secrets file's name). */
  env: Record<string, string>
  /** Every JSON line logged so far. */
  logs(): Record<string, unknown>[]
  logText(): string
  /** The real app from this config over `store` and `acl` (the loaded rules unless given). */
  build(
    store: SessionStore,
    acl?: { readonly current: RuleSet },
    more?: Pick<AppDeps, 'metrics' | 'credentials' | 'counters'>,
  ): Promise<FastifyInstance>
  /** Stops watching the rules and removes the temp folder. */
  close(): Promise<void>
}

/**
 * A temp folder written the way an operator would (gateway.yaml with `${FILES_ROOT}` and
 * `${REDIS_URL}` filled in, acl.d/, users.yaml), the config parsed from it, a logger whose lines
 * the test can read, and the rules loaded. The folder is removed again if any of it fails.
 */
export async function prepareGateway(o: GatewayOptions): Promise<PreparedGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-config-'))
  let acl: AclHolder | undefined
  const close = async () => {
    acl?.close()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await mkdir(join(dir, 'acl.d'))
    for (const [name, text] of Object.entries(o.aclFiles)) await writeFile(join(dir, 'acl.d', name), text)
    if (o.usersYaml) await writeFile(join(dir, 'users.yaml'), o.usersYaml)
    const fill: Record<string, string> = { FILES_ROOT: o.filesRoot, REDIS_URL: o.redisUrl ?? '' }
    const yaml = o.configYaml.replace(
      /\$\{(FILES_ROOT|REDIS_URL)\}/g,
      (_, name: string) => fill[name] as string,
    )
    const configFile = join(dir, 'gateway.yaml')
    await writeFile(configFile, yaml)
    const env = { GATEWAY_SESSION_SECRETS: TEST_SECRET, ...o.env }
    const config = parseConfig(configFile, yaml, env)

    let captured = ''
    const sink = new Writable({
      write(chunk, _enc, cb) {
        captured += chunk.toString()
        cb()
      },
    })
    const log = pino({ level: 'info' }, sink)
    acl = new AclHolder(
      config.acl.paths,
      { defaultEffect: config.acl.defaultEffect, defaults: config.acl.defaults },
      log,
    )
    const first = await acl.load()
    if (!first.ok) throw new Error(`test ACL does not load: ${JSON.stringify(first.errors)}`)
    if (config.acl.watch) acl.watch()
    const rules = acl
    const users =
      config.login.enabled && config.login.usersFile
        ? new UsersHolder(config.login.usersFile, loadUsersFile(config.login.usersFile), (u) =>
            publishedPasswordRefusal(config.login, u),
          )
        : undefined
    const verifier = new SessionCookieVerifier(config.session.secrets, config.session.cookiePrefix)
    const realFilesRoot = await realpath(o.filesRoot)
    return {
      dir,
      config,
      acl,
      log,
      users,
      verifier,
      env,
      logs: () =>
        captured
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      logText: () => captured,
      build: (store, ruleSet = rules, more = {}) =>
        buildApp(config, {
          store,
          acl: ruleSet,
          realFilesRoot,
          users,
          verifier,
          logger: log,
          refusalPage: refusalPageOf(config),
          ...more,
        }),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** Listens on a free loopback port and resolves to it. */
export async function listenOnLoopback(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('the gateway has no TCP address')
  return address.port
}

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const prepared = await prepareGateway(o)
  const { config, acl } = prepared
  let store: SessionStore | undefined
  let credentials: RunningCredentials | undefined
  try {
    if (config.session.store === 'redis') {
      const redis = new RedisSessionStore({ ...config.session.redis, onError: () => {} })
      store = redis
      await redis.connect()
    } else {
      store = new MemorySessionStore()
    }
    credentials = await startCredentials(config, prepared.log, acl)
    await credentials.ready
    const instrumented = o.metrics ? instrument(store, acl) : undefined
    const app = await prepared.build(instrumented?.store ?? store, acl, {
      credentials: credentials.store,
      counters: credentials.counters,
      metrics: instrumented?.metrics,
    })
    const port = await listenOnLoopback(app)
    const adminPort = credentials.admin ? await listenAdmin(credentials.admin, config) : null
    const running = store
    const creds = credentials
    const metrics = instrumented && {
      metrics: instrumented.metrics,
      server: await startMetricsServer(instrumented.metrics, '127.0.0.1', 0, () => {}),
    }
    return {
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      app,
      store: running,
      acl,
      config,
      credentials: creds,
      adminUrl: adminPort === null ? null : `http://127.0.0.1:${adminPort}`,
      dir: prepared.dir,
      metrics,
      reloader: new Reloader({
        acl,
        users: prepared.users,
        secrets: { verifier: prepared.verifier, env: prepared.env },
        log: prepared.log,
        metrics: instrumented?.metrics,
      }),
      logs: prepared.logs,
      logText: prepared.logText,
      async stop() {
        await metrics?.server.close()
        await app.close()
        await creds.close()
        await running.close()
        await prepared.close()
      },
    }
  } catch (err) {
    await credentials?.close().catch(() => {})
    await store?.close().catch(() => {})
    await prepared.close()
    throw err
  }
}
