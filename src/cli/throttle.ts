// `download-gateway throttle unlock`: lifts a rate limit before its window ends, for a user locked
// out after someone guessed at their account or an office whose shared address hit the limit
// (docs/security.md#brute-force). The counts live in the Redis of the config, or, with the embedded
// store, inside the gateway process: reached through its admin API (`--admin-url`).
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { ConfigError } from '../config/problems.js'
import { CountersUnavailableError } from '../throttle/attempt-counters.js'
import { RedisCounters } from '../throttle/redis-counters.js'
import { unlock } from '../throttle/unlock.js'
import { configFrom, viaApi } from './credentials.js'
import { EXIT_INVALID, EXIT_OK, EXIT_STORE_UNREACHABLE } from './exit-codes.js'
import type { Env, Io } from './io.js'

export const THROTTLE_USAGE = `usage:
  download-gateway throttle unlock [--account <name>] [--address <ip>] [--config <gateway.yaml> | --admin-url <url>]
      drops the failed-attempt counts that hold an account (as typed at the login) or a client
      address (its whole network: an IPv6 address's /64) back; give one or both
With --admin-url the running gateway's admin API does it (GATEWAY_ADMIN_TOKEN authenticates);
otherwise the Redis named by the config (the embedded store is reachable only through the API).`

const OPTIONS = {
  config: { type: 'string' },
  'admin-url': { type: 'string' },
  account: { type: 'string' },
  address: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/** argv starts with `throttle`. Exit status: 0 done, 2 usage or configuration error, 3 unreachable. */
export async function runThrottleCommand(argv: readonly string[], io: Io, env: Env): Promise<number> {
  const [, verb, ...rest] = argv
  let values: { config?: string; 'admin-url'?: string; account?: string; address?: string }
  try {
    values = parseArgs({ args: [...rest], options: OPTIONS, strict: true }).values
  } catch (err) {
    return usage(io, (err as Error).message)
  }
  if (verb !== 'unlock') return usage(io, `unknown command 'throttle${verb === undefined ? '' : ` ${verb}`}'`)
  const target = {
    ...(values.account === undefined ? {} : { account: values.account }),
    ...(values.address === undefined ? {} : { address: values.address }),
  }
  const adminUrl = values['admin-url']
  if (adminUrl !== undefined) {
    if (target.account === undefined && target.address === undefined)
      return usage(io, 'throttle unlock needs --account or --address')
    return viaApi(io, env, adminUrl, 'POST', '/throttle/unlock', target)
  }
  try {
    const config = configFrom(values.config, env)
    if (config.session.store !== 'redis')
      return usage(io, 'the embedded store lives inside the gateway process: use --admin-url <its admin API>')
    const r = config.session.redis
    const counters = new RedisCounters({
      ...r,
      // The gateways' own keys (`gw:rl:`), not the sessions' prefix.
      keyPrefix: undefined,
      commandTimeoutMs: Math.max(r.commandTimeoutMs, 2000),
      reconnect: false,
    })
    try {
      await counters.connect()
      const done = await unlock(counters, target)
      if (!done.ok) return usage(io, done.message)
      io.out(
        JSON.stringify({
          account: target.account ?? null,
          network: done.network ?? null,
          cleared: done.cleared,
        }),
      )
      return EXIT_OK
    } finally {
      await counters.close()
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message)
      return EXIT_INVALID
    }
    if (err instanceof CountersUnavailableError) {
      io.err(`error: ${err.message}`)
      return EXIT_STORE_UNREACHABLE
    }
    throw err
  }
}

function usage(io: Io, message: string): number {
  io.err(`error: ${message}`)
  io.err(THROTTLE_USAGE)
  return EXIT_INVALID
}
