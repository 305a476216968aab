// The operations sections of the config: `ops` (what the readiness probe checks beyond the rules
// and the session store) and `metrics` (the Prometheus listener). Kept apart from schema.ts and
// load-config.ts so those only wire them in. Defaults live in the schema (ajv fills them), as
// everywhere in the config; absent sections mean off.

export interface OpsConfig {
  /** A real download through nginx, made by /readyz; undefined: no canary. */
  readonly canary:
    | {
        readonly url: string
        readonly expectStatus: number
        readonly timeoutMs: number
      }
    | undefined
}

export interface MetricsConfig {
  /** Off by default: the listener exists only when `metrics.port` is set. */
  readonly enabled: boolean
  readonly host: string
  readonly port: number
}

export const opsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    canary: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        expect_status: { type: 'integer', minimum: 100, maximum: 599, default: 200 },
        timeout_ms: { type: 'integer', minimum: 1, default: 2000 },
      },
    },
  },
} as const

export const metricsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['port'],
  properties: {
    // Loopback unless said otherwise: the metrics name no user, but they are nobody's business.
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
  },
} as const

// biome-ignore lint/suspicious/noExplicitAny: the schema has checked the shape already
export function opsConfigFrom(raw: any): OpsConfig {
  const canary = raw?.canary
  return {
    canary: canary
      ? { url: canary.url, expectStatus: canary.expect_status, timeoutMs: canary.timeout_ms }
      : undefined,
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the schema has checked the shape already
export function metricsConfigFrom(raw: any): MetricsConfig {
  // Off: no listener is opened, host and port are never read.
  if (raw === undefined) return { enabled: false, host: '', port: 0 }
  return { enabled: true, host: raw.host, port: raw.port }
}
