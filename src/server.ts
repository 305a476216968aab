// Entry point: load and check the config, create the session store and the rule set, build the app,
// listen, reload rules on SIGHUP, close gracefully on SIGTERM/SIGINT. Nothing else.
// Any start-up failure ends in one line on stderr and exit code 2 or 1 (startup-failure.ts says
// which); every exit the gateway makes writes the buffered log lines first.
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { isatty } from 'node:tty'
import type { Logger } from 'pino'
import { AclHolder } from './acl/index.js'
import { listenAdmin, startCredentials } from './admin-app.js'
import { buildApp } from './app.js'
import { type GatewayConfig, redactedConfig } from './config/gateway-config.js'
import { loadConfig } from './config/load-config.js'
import { formatProblem } from './config/problems.js'
import { rateLimitWarning } from './config/rate-limit-config.js'
import { createLogger, flushLogger, flushLoggerSync, resolveLogFormat, wantsColour } from './logger.js'
import { publishedPasswordRefusal } from './login/published-password.js'
import { EXAMPLE_USER_ID } from './login/users-file.js'
import { instrument } from './ops/instrument.js'
import { type MetricsServer, startMetricsServer } from './ops/metrics-server.js'
import { Reloader, UsersHolder } from './ops/reload.js'
import { aclOptionsOf, preflight } from './preflight.js'
import { openSessionStore } from './session/open-session-store.js'
import { SessionCookieVerifier } from './session/signed-cookie.js'
import {
  describeStartupFailure,
  EXIT_CONFIG,
  EXIT_RUNTIME,
  listenFailure,
  StartupError,
  type StartupFailure,
} from './startup-failure.js'

async function main(config: GatewayConfig, log: Logger): Promise<void> {
  // Lines about how this process runs, logged once it listens: the first line a person reads is
  // the address to open, and nothing is said about a start that then fails.
  const notes: (() => void)[] = [
    () => log.info({ file: config.configFile, config: redactedConfig(config) }, 'configuration loaded'),
  ]

  // The same checks `cli check` runs (preflight.ts).
  const prepared = await preflight(config)
  if (!prepared.ok) {
    const { problems } = prepared
    throw new StartupError(
      problems.length === 1
        ? (problems[0] as string)
        : `cannot start:${problems.map((p) => `\n  ${p}`).join('')}`,
      EXIT_CONFIG,
    )
  }
  const { realFilesRoot, refusalPage } = prepared
  // Reloaded on SIGHUP (ops/reload.ts), and vetted as preflight vets it at start.
  const login = config.login
  const users =
    prepared.users && login.usersFile
      ? new UsersHolder(login.usersFile, prepared.users, (u) => publishedPasswordRefusal(login, u))
      : undefined

  // Warnings and errors of the first load are said at once; its "rules loaded" line waits for the
  // listening line, as the notes do.
  const aclLog = log.child({ component: 'acl' })
  if (log.levelVal < 40) aclLog.level = 'warn' // 40: pino's warn
  const acl = new AclHolder(config.acl.paths, aclOptionsOf(config), aclLog)
  const first = await acl.load()
  if (!first.ok) {
    const problems = first.errors.map(formatProblem)
    throw new StartupError(
      problems.length === 1
        ? `invalid ACL rules: ${problems[0]}`
        : `invalid ACL rules:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    )
  }
  const { ruleSet, warnings } = first
  notes.push(() => {
    aclLog.level = log.level
    aclLog.info(
      { rules: ruleSet.ruleCount, files: ruleSet.files, warnings: warnings.length, reason: 'initial load' },
      'ACL rules loaded',
    )
  })

  if (users && config.login.usersFile) {
    if (users.has(EXAMPLE_USER_ID)) {
      const file = config.login.usersFile
      notes.push(() =>
        log.warn(
          { user: EXAMPLE_USER_ID, file },
          'the example login user exists and its password is published in the README: remove it before real use',
        ),
      )
    }
  }

  const { store, connected: storeConnected, notes: storeNotes } = openSessionStore(config, log)
  notes.push(...storeNotes)
  const rateLimitNote = rateLimitWarning(config)
  if (rateLimitNote) notes.push(() => log.warn(rateLimitNote))
  if (config.delivery.mode === 'direct') {
    notes.push(() =>
      log.warn(
        { filesRoot: realFilesRoot },
        'direct delivery: the gateway streams files itself (development mode; use x-accel behind nginx in production)',
      ),
    )
  }

  const credentials = await startCredentials(config, log, acl)
  const metered = config.metrics.enabled ? instrument(store, acl) : undefined
  const verifier = new SessionCookieVerifier(config.session.secrets, config.session.cookiePrefix)
  const app = await buildApp(config, {
    verifier,
    store: metered?.store ?? store,
    acl,
    realFilesRoot,
    users,
    credentials: credentials.store,
    counters: credentials.counters,
    logger: log,
    metrics: metered?.metrics,
    refusalPage,
  })
  if (config.acl.watch) acl.watch()
  const reloader = new Reloader({
    acl,
    users,
    // A secret made up for this process has no source to re-read.
    secrets: config.session.secretsGenerated ? undefined : { verifier, env: process.env },
    log: log.child({ component: 'reload' }),
    metrics: metered?.metrics,
  })
  process.on('SIGHUP', () => void reloader.reloadAll('SIGHUP'))

  let metricsServer: MetricsServer | undefined
  let closing = false
  const close = async (signal: string) => {
    if (closing) {
      // A second Ctrl-C: the person does not want to wait for open downloads.
      log.warn({ signal }, 'closing now, without waiting for open requests')
      await flushLogger(log)
      process.exit(EXIT_RUNTIME)
    }
    closing = true
    log.info({ signal }, 'closing')
    let exitCode = 0
    try {
      acl.close()
      await metricsServer?.close()
      await app.close()
      await credentials.close()
      await store.close()
    } catch (err) {
      log.error({ err }, 'closing failed')
      exitCode = EXIT_RUNTIME
    }
    await flushLogger(log)
    process.exit(exitCode)
  }
  process.on('SIGTERM', () => void close('SIGTERM'))
  process.on('SIGINT', () => void close('SIGINT'))

  metricsServer =
    metered &&
    (await startMetricsServer(metered.metrics, config.metrics.host, config.metrics.port, (err) =>
      log.error({ err: { message: err.message } }, 'metrics listener error'),
    ))
  if (metricsServer) log.info({ host: config.metrics.host, port: metricsServer.port }, 'metrics listening')
  // nginx sends a gateway requests as soon as its port takes connections (it knows no readiness):
  // a restarted one that listened before its stores were connected answered link downloads 503.
  // So it listens once they are, or after the connect timeout at the latest (a Redis that is down
  // at start still gets the gateway listening, answering 503 until it is back).
  await Promise.race([
    Promise.all([storeConnected, credentials.ready]),
    delay(config.session.redis.connectTimeoutMs, undefined, { ref: false }),
  ])
  try {
    await app.listen({ host: config.server.host, port: config.server.port })
  } catch (err) {
    throw listenFailure(err, config, process.env)
  }
  // Fastify runs without a logger of its own (app.ts), so the start line is ours: the address to
  // open, and every address bound (a host name may resolve to several).
  const addresses = app.addresses()
  const url = openUrl(addresses[0], config)
  const behindNginx = config.delivery.mode === 'x-accel' ? ' (x-accel: downloads go through nginx)' : ''
  log.info({ url, addresses }, `listening on ${url}${behindNginx}`)
  for (const note of notes) note()
  if (credentials.admin)
    log.info({ port: await listenAdmin(credentials.admin, config) }, 'admin API listening')
}

/** A URL a person can open: an all-addresses bind is reached through loopback. */
function openUrl(address: AddressInfo | string | undefined, config: GatewayConfig): string {
  if (address === undefined || typeof address === 'string') return `http://${config.server.host}`
  let host = address.address
  if (host === '0.0.0.0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  if (address.family === 'IPv6' || host.includes(':')) host = `[${host}]`
  return `http://${host}:${address.port}${config.delivery.routePrefix}`
}

/**
 * The one line on stderr, then the exit. The log gets the line too, unless both are the terminal
 * that just showed it; an unexpected error always goes to the log, with its stack.
 */
async function exitWith(
  failure: StartupFailure,
  log: Logger | undefined,
  err: unknown,
  pretty: boolean,
): Promise<never> {
  process.stderr.write(`download-gateway: ${failure.message}\n`)
  if (log) {
    if (!failure.expected) log.fatal({ err }, failure.message)
    else if (!(pretty && isatty(1) && isatty(2))) log.fatal(failure.message)
    await flushLogger(log)
  }
  process.exit(failure.exitCode)
}

async function configOrExit(): Promise<GatewayConfig> {
  try {
    return loadConfig()
  } catch (err) {
    return exitWith(describeStartupFailure(err), undefined, err, false)
  }
}

const config = await configOrExit()
const format = resolveLogFormat(config.server.logFormat, isatty(1))
const log = createLogger(config.server.logLevel, {
  format,
  colour: format === 'pretty' && wantsColour(isatty(1), process.env),
})
const pretty = format === 'pretty'
// A crash after start-up: one line, the stack in the log, nothing buffered lost.
const crash = (err: unknown) => void exitWith(describeStartupFailure(err), log, err, pretty)
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)
// An exit nobody awaited (a library calling process.exit) still writes what is buffered.
process.on('exit', () => flushLoggerSync(log))

try {
  await main(config, log)
} catch (err) {
  await exitWith(describeStartupFailure(err), log, err, pretty)
}
