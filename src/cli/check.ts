// `check`: everything the gateway checks at start, with the same functions (load-config.ts,
// acl/, preflight.ts), every problem reported; with --connect, the session store (or the main
// app the callback source asks) reached too.
import { DEFAULT_POLICY, loadRuleSet } from '../acl/index.js'
import type { GatewayConfig } from '../config/gateway-config.js'
import { loadConfig } from '../config/load-config.js'
import { ConfigError, formatProblem } from '../config/problems.js'
import { aclOptionsOf, preflight } from '../preflight.js'
import { describeRedis } from '../redis/connection.js'
import { MemorySessionStore } from '../session/memory-store.js'
import { RedisSessionStore } from '../session/redis-store.js'
import { createSessionSource } from '../session/sources/create.js'
import { EXIT_INVALID, EXIT_OK, EXIT_STORE_UNREACHABLE } from './exit-codes.js'
import type { Env, Io, Parsed } from './io.js'
import {
  parseOptions,
  printProblems,
  type RuleSource,
  ruleSourceFrom,
  SOURCE_OPTIONS,
  type SourceValues,
} from './rule-source.js'

export interface CheckCommand {
  readonly name: 'check'
  readonly source: RuleSource
  /** Also reach the session store. */
  readonly connect: boolean
}

export const CHECK_USAGE = `  download-gateway check [--config <gateway.yaml>] [--connect]
      checks what the gateway checks at start: the config with the environment's secrets, the
      rules, the users file, the files root; --connect also reaches the session store.
      exit 0 ok, 2 invalid (the gateway would not start), 3 session store unreachable
  download-gateway check --acl <file|dir|glob> ... [--default deny|allow]
      checks rule files alone; exit 0 ok, 2 invalid`

const CHECK_OPTIONS = { ...SOURCE_OPTIONS, connect: { type: 'boolean' } } as const

export function parseCheckArgs(args: readonly string[], env: Env): Parsed<CheckCommand | { name: 'help' }> {
  const parsed = parseOptions<SourceValues & { connect?: boolean }>(args, CHECK_OPTIONS)
  if (!parsed.ok) return parsed
  const { values, positionals } = parsed.command
  if (values.help) return { ok: true, command: { name: 'help' } }
  if (positionals.length > 0) return { ok: false, message: `check takes no path (got '${positionals[0]}')` }
  const source = ruleSourceFrom(values, env)
  if (!source.ok) return source
  const connect = values.connect === true
  if (connect && source.command.kind === 'acl')
    return { ok: false, message: '--connect needs a gateway config: rule files name no session store' }
  return { ok: true, command: { name: 'check', source: source.command, connect } }
}

export async function runCheck(command: CheckCommand, io: Io, env: Env): Promise<number> {
  if (command.source.kind === 'acl') {
    const { paths, defaultEffect } = command.source
    const rules = await loadRuleSet(paths, { defaultEffect, defaults: DEFAULT_POLICY })
    printProblems(io, rules.warnings)
    if (!rules.ok) {
      printProblems(io, rules.errors)
      return EXIT_INVALID
    }
    io.out(
      `ok: ${rules.ruleSet.ruleCount} rules from ${rules.ruleSet.files.length} files, ${rules.warnings.length} warnings`,
    )
    return EXIT_OK
  }

  let config: GatewayConfig
  try {
    // The environment is the gateway's own: secrets, overrides and all.
    config = loadConfig({ ...env, GATEWAY_CONFIG: command.source.file })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return invalid(io, err.problems.map(formatProblem))
  }
  io.out(`config: ${config.configFile}: ${describeConfig(config)}`)

  const problems: string[] = []
  const rules = await loadRuleSet(config.acl.paths, aclOptionsOf(config))
  printProblems(io, rules.warnings)
  if (rules.ok) {
    io.out(
      `ok: ${rules.ruleSet.ruleCount} rules from ${rules.ruleSet.files.length} files, ${rules.warnings.length} warnings`,
    )
  } else {
    printProblems(io, rules.errors)
  }
  const prepared = await preflight(config)
  if (prepared.ok) {
    if (prepared.users) io.out(`login: ${config.login.usersFile}: ${prepared.users.size} users`)
    if (config.delivery.mode === 'direct') io.out(`files: ${prepared.realFilesRoot}`)
  } else {
    problems.push(...prepared.problems)
  }
  if (!rules.ok || problems.length > 0) return invalid(io, problems)

  if (command.connect) {
    const reached = await reachStore(config)
    if (!reached.ok) {
      io.err(`store: ${reached.message}`)
      io.err(
        'error: the configuration is valid, but the session store cannot be reached: every download would be refused with 503',
      )
      return EXIT_STORE_UNREACHABLE
    }
    io.out(`store: ${reached.message}`)
  }
  io.out('ok: the gateway would start with this configuration')
  return EXIT_OK
}

function invalid(io: Io, problems: readonly string[]): number {
  for (const p of problems) io.err(p)
  io.err('error: the gateway would not start with this configuration (it exits with status 2)')
  return EXIT_INVALID
}

function describeConfig(config: GatewayConfig): string {
  const s = config.session
  if (s.source === 'php') {
    const where = s.php.saveHandler === 'files' ? `files in ${s.php.savePath}` : 'phpredis'
    return `${config.delivery.mode} delivery, PHP sessions (${where}), login off`
  }
  const secrets = s.secretsGenerated
    ? 'no session secret set (the embedded store makes one per process)'
    : `${s.secrets.length} session secret${s.secrets.length === 1 ? '' : 's'}`
  const store = s.callback
    ? `callback sessions (${new URL(s.callback.url).origin})`
    : s.store === 'redis'
      ? 'Redis sessions'
      : 'embedded sessions'
  return `${config.delivery.mode} delivery, ${store}, ${secrets}, login ${config.login.enabled ? 'on' : 'off'}`
}

/** Connects and pings as the gateway would, within its own connect and command timeouts. */
async function reachStore(config: GatewayConfig): Promise<{ ok: boolean; message: string }> {
  if (config.session.callback) return reachCallback(config)
  if (config.session.source === 'php') return reachSourceStore(config)
  if (config.session.store !== 'redis') return { ok: true, message: 'embedded: nothing to connect to' }
  const options = config.session.redis
  const where = describeRedis(options)
  let lastError = ''
  const store = new RedisSessionStore({
    ...options,
    onError: (err) => {
      lastError = err.message
    },
  })
  const waitMs = options.connectTimeoutMs + options.commandTimeoutMs
  let timer: NodeJS.Timeout | undefined
  try {
    // connect() keeps retrying in the background as the gateway does; the deadline ends the wait.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection within ${waitMs} ms`)), waitMs)
    })
    await Promise.race([store.connect(), deadline])
    const start = performance.now()
    await store.ping()
    return {
      ok: true,
      message: `${where}: connected, PING answered in ${Math.ceil(performance.now() - start)} ms`,
    }
  } catch (err) {
    const detail = lastError && lastError !== (err as Error).message ? ` (last error: ${lastError})` : ''
    return { ok: false, message: `${where}: ${(err as Error).message}${detail}` }
  } finally {
    clearTimeout(timer)
    await store.close()
  }
}

/** Asks the main app's endpoint as /healthz does: without a cookie, within timeout_ms. */
async function reachCallback(config: GatewayConfig): Promise<{ ok: boolean; message: string }> {
  // The callback source reads no store; the factory wants one all the same.
  const unused = new MemorySessionStore()
  const source = createSessionSource(config.session, { store: unused })
  // The origin only: the URL may carry credentials.
  const where = new URL(config.session.callback?.url ?? '').origin
  try {
    const start = performance.now()
    await source.ping()
    return {
      ok: true,
      message: `${where}: the endpoint answered in ${Math.ceil(performance.now() - start)} ms`,
    }
  } catch (err) {
    return { ok: false, message: `${where}: ${(err as Error).message}` }
  } finally {
    await source.close()
    await unused.close()
  }
}

/**
 * A source that opens its own store (PHP's files folder or phpredis): built as the gateway builds
 * it, pinged until it answers or the same deadline as above passes.
 */
async function reachSourceStore(config: GatewayConfig): Promise<{ ok: boolean; message: string }> {
  const s = config.session
  const where =
    s.source === 'php' && s.php.saveHandler === 'files' ? `${s.php.savePath}` : describeRedis(s.redis)
  let lastError = ''
  const source = createSessionSource(s, {
    store: new MemorySessionStore(),
    onStoreError: (err) => {
      lastError = err.message
    },
  })
  const deadline = Date.now() + s.redis.connectTimeoutMs + s.redis.commandTimeoutMs
  try {
    for (;;) {
      const start = performance.now()
      try {
        await source.ping()
        return { ok: true, message: `${where}: answered in ${Math.ceil(performance.now() - start)} ms` }
      } catch (err) {
        lastError = (err as Error).message
      }
      if (Date.now() >= deadline) return { ok: false, message: `${where}: ${lastError}` }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await source.close()
  }
}
