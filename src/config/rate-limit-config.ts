// `rate_limit`: how many failed logins and unverifiable link or token values a window allows
// (docs/security.md#brute-force). Kept apart from schema.ts and load-config.ts so those only wire
// it in; the defaults live in the schema, as everywhere in the config.
import { DURATION_PATTERN, parseDuration } from '../duration.js'
import type { RateLimits } from '../throttle/limits.js'
import type { GatewayConfig } from './gateway-config.js'

const window = (fallback: string) => ({ type: 'string', pattern: DURATION_PATTERN, default: fallback })
const failures = (fallback: number) => ({ type: 'integer', minimum: 1, default: fallback })

export const rateLimitSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    login: {
      type: 'object',
      additionalProperties: false,
      properties: {
        window: window('15m'),
        failures_per_address: failures(30),
        failures_per_account: failures(10),
        remember_network: window('30d'),
      },
      default: {},
    },
    credentials: {
      type: 'object',
      additionalProperties: false,
      properties: {
        window: window('1m'),
        failures_per_address: failures(50),
        failures_per_token: failures(20),
      },
      default: {},
    },
  },
  default: {},
} as const

// biome-ignore lint/suspicious/noExplicitAny: the schema has checked the shape already
export function rateLimitsFrom(raw: any): RateLimits {
  // The schema has checked every duration's form already.
  const ms = (text: string) => (parseDuration(text) as number) * 1000
  return {
    enabled: raw.enabled,
    login: {
      windowMs: ms(raw.login.window),
      perAddress: raw.login.failures_per_address,
      perAccount: raw.login.failures_per_account,
      rememberMs: ms(raw.login.remember_network),
    },
    credentials: {
      windowMs: ms(raw.credentials.window),
      perAddress: raw.credentials.failures_per_address,
      perToken: raw.credentials.failures_per_token,
    },
  }
}

/**
 * What to warn about at start: behind nginx (x-accel) with no trusted proxy, every client is
 * counted as nginx's one address, so anyone's failures would throttle everyone.
 */
export function rateLimitWarning(
  config: Pick<GatewayConfig, 'rateLimit' | 'delivery' | 'server'>,
): string | undefined {
  if (!config.rateLimit.enabled || config.delivery.mode !== 'x-accel' || config.server.trustProxy !== false)
    return undefined
  return 'rate limits count clients by address, and server.trust_proxy is false: behind nginx every client shares its address; list the proxy in server.trust_proxy'
}
