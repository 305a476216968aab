// Entry point: load and check the config, create the session store and the rule set, build the app,
// listen, reload rules on SIGHUP, close gracefully on SIGTERM/SIGINT. Nothing else.
import { AclHolder } from './acl/index.js'
import { buildApp } from './app.js'
import { redactedConfig } from './config/gateway-config.js'
import { loadConfig } from './config/load-config.js'
import { ConfigError, formatProblem } from './config/problems.js'
import { createLogger, flushLogger } from './logger.js'
import { EXAMPLE_USER_ID } from './login/users-file.js'
import { aclOptionsOf, preflight } from './preflight.js'
import { MemorySessionStore } from './session/memory-store.js'
import { RedisSessionStore } from './session/redis-store.js'
import type { SessionStore } from './session/session-store.js'

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`download-gateway: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(config.server.logLevel)
  log.info({ config: redactedConfig(config) }, 'configuration loaded')

  // The same checks `cli check` runs (preflight.ts).
  const prepared = await preflight(config)
  if (!prepared.ok) return fatal(log, prepared.problems.join('\n'))
  const { realFilesRoot, users } = prepared

  const acl = new AclHolder(config.acl.paths, aclOptionsOf(config), log.child({ component: 'acl' }))
  const first = await acl.load()
  if (!first.ok)
    return fatal(log, `invalid ACL rules:\n${first.errors.map((p) => `  ${formatProblem(p)}`).join('\n')}`)

  if (users && config.login.usersFile) {
    if (users.has(EXAMPLE_USER_ID)) {
      log.warn(
        { user: EXAMPLE_USER_ID, file: config.login.usersFile },
        'the example login user exists and its password is published in the README: remove it before real use',
      )
    }
  }

  let store: SessionStore
  if (config.session.store === 'redis') {
    const redis = new RedisSessionStore({
      ...config.session.redis,
      onError: (err) => log.error({ err: { message: err.message } }, 'session store connection error'),
    })
    redis.connect().then(
      () => log.info('session store connected'),
      (err: Error) =>
        log.error(
          { err: { message: err.message } },
          'session store not reachable yet; downloads answer 503 until it is',
        ),
    )
    store = redis
  } else {
    store = new MemorySessionStore()
    log.info('embedded session store: sessions live in this process and are lost on restart')
  }
  if (config.session.secretsGenerated) {
    log.warn('no GATEWAY_SESSION_SECRETS set: using a random secret for this process only')
  }
  if (config.delivery.mode === 'direct') {
    log.warn(
      { filesRoot: realFilesRoot },
      'direct delivery: the gateway streams files itself (development mode; use x-accel behind nginx in production)',
    )
  }

  const app = await buildApp(config, { store, acl, realFilesRoot, users, logger: log })
  if (config.acl.watch) acl.watch()
  process.on('SIGHUP', () => void acl.reload('SIGHUP'))

  let closing = false
  const close = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'closing')
    acl.close()
    await app.close()
    await store.close()
    await flushLogger(log)
    process.exit(0)
  }
  process.on('SIGTERM', () => void close('SIGTERM'))
  process.on('SIGINT', () => void close('SIGINT'))

  await app.listen({ host: config.server.host, port: config.server.port })
  // Fastify runs without a logger of its own (app.ts), so the start line is ours: every address
  // bound (a host name may resolve to several).
  log.info({ addresses: app.addresses() }, 'listening')
}

async function fatal(log: ReturnType<typeof createLogger>, message: string): Promise<never> {
  log.fatal(message)
  process.stderr.write(`download-gateway: ${message}\n`)
  await flushLogger(log)
  process.exit(2)
}

await main()
