// The checked, frozen configuration the gateway runs with. Paths are absolute (resolved against the
// config file's folder); secrets are here but never logged (see redactedConfig).
import type { ResponsePolicy } from '../acl/index.js'
import type { LinkKeyRing } from '../credentials/links/link-keys.js'
import type { ObjectRoot } from '../delivery/object-roots.js'
import type { RedisMode, RedisNodeAddress } from '../redis/connection.js'
import type { RateLimits } from '../throttle/limits.js'
import type { BrowserConfig } from './browser-config.js'
import type { DjangoConfig } from './django-config.js'
import type { MetricsConfig, OpsConfig } from './ops-config.js'
import type { TrustProxy } from './trust-proxy.js'

/** The main app's "who is this?" endpoint (session.source: callback). */
export interface CallbackConfig {
  readonly url: string
  readonly cookieNames: readonly string[]
  readonly timeoutMs: number
  readonly cacheTtlMs: number
  readonly cacheMaxEntries: number
  readonly userField: readonly string[]
  readonly groupsField: readonly string[]
  readonly tokenHeader: string
  /** GATEWAY_CALLBACK_TOKEN: sent in tokenHeader so the app can tell the gateway from a browser. */
  readonly token: string | undefined
}

/** `acl.defaults`: the response policy every rule starts from. */
export type PolicyDefaults = ResponsePolicy

export interface GatewayConfig {
  readonly configFile: string
  readonly server: {
    readonly host: string
    readonly port: number
    readonly logLevel: string
    /** Peers whose X-Forwarded-Proto/-For are believed (Fastify's trustProxy). */
    readonly trustProxy: TrustProxy
    /** auto: readable lines on a terminal, JSON lines otherwise. */
    readonly logFormat: 'auto' | 'pretty' | 'json'
  }
  readonly delivery: {
    readonly mode: 'x-accel' | 'direct'
    readonly filesRoot: string
    readonly internalPrefix: string
    readonly routePrefix: string
    /** Folders served from buckets (`delivery.roots`), longest prefix first; empty: disk only. */
    readonly roots: readonly ObjectRoot[]
  }
  readonly session: {
    readonly store: 'memory' | 'redis'
    /** The session format the main app writes (src/session/sources/). */
    readonly source: 'connect' | 'callback' | 'flask' | 'rails' | 'django' | 'php'
    readonly cookieName: string
    readonly cookiePrefix: string
    readonly userIdField: readonly string[]
    readonly groupsField: readonly string[]
    readonly maxAgeSeconds: number
    readonly cookie: {
      /** 'auto': Secure when the request's scheme (after trustProxy) is https. */
      readonly secure: boolean | 'auto'
      readonly sameSite: 'lax' | 'strict' | 'none'
      readonly domain: string | undefined
      readonly path: string
    }
    /** Newest first: the first signs new cookies, all of them verify. */
    readonly secrets: readonly string[]
    /** True when no secret was configured and one was made up for this process. */
    readonly secretsGenerated: boolean
    /** session.source flask. Secret keys from the environment; empty unless flask is the source. */
    readonly flask: {
      readonly cookieName: string
      /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
      readonly secretKeys: readonly string[]
      readonly maxAgeSeconds: number
      readonly salt: string
      readonly userField: string
      readonly groupsField: string
    }
    /** session.source rails. secret_key_base from the environment; empty unless rails is the source. */
    readonly rails: {
      readonly cookieName: string
      /** The current secret_key_base first, then older ones still accepted. */
      readonly secretKeyBases: readonly string[]
      readonly keyDigests: readonly ('sha256' | 'sha1')[]
      readonly requirePurpose: boolean
      readonly userField: string
      readonly userShape: 'devise' | 'value'
      readonly groupsField: string
    }
    /** session.source django. Secret keys from the environment; empty unless django is the source. */
    readonly django: DjangoConfig
    readonly redis: {
      /** single: `url`; sentinel: the primary the sentinels in `nodes` name; cluster: seeds in `nodes`. */
      readonly mode: RedisMode
      readonly url: string
      /** Empty with mode single. */
      readonly nodes: readonly RedisNodeAddress[]
      /** mode sentinel only. */
      readonly masterName: string | undefined
      /** From GATEWAY_REDIS_PASSWORD(_FILE): the data nodes'. */
      readonly password: string | undefined
      /** From GATEWAY_REDIS_SENTINEL_PASSWORD(_FILE): the sentinels' own (mode sentinel). */
      readonly sentinelPassword: string | undefined
      /** mode sentinel and cluster: TLS to every node. */
      readonly tls: boolean
      readonly keyPrefix: string
      readonly connectTimeoutMs: number
      readonly commandTimeoutMs: number
      readonly clientCache: boolean
    }
    /** session.source: callback; undefined for the other sources. */
    readonly callback: CallbackConfig | undefined
    /** `session.php`: PHP's native sessions (source php). */
    readonly php: {
      readonly cookieName: string
      readonly saveHandler: 'files' | 'redis'
      /** Absolute; set whenever saveHandler is 'files'. */
      readonly savePath: string | undefined
      readonly serializeHandler: 'php' | 'php_serialize' | 'php_binary'
      readonly gcMaxLifetimeSeconds: number
      readonly readTimeoutMs: number
      readonly sidLength: number
      readonly sidBitsPerCharacter: 4 | 5 | 6
      readonly keyPrefix: string
      readonly userIdKey: readonly string[]
      readonly groupsKey: readonly string[]
      readonly objects: 'inert' | 'refuse'
    }
  }
  readonly login: {
    readonly enabled: boolean
    readonly usersFile: string | undefined
    /** Development only: start even though a user has the published example password. */
    readonly allowPublishedPassword: boolean
  }
  /** Share links and access tokens (docs/links-and-tokens.md). */
  readonly links: {
    /** From GATEWAY_LINK_KEYS(_FILE); null: share links are off (tokens still work). */
    readonly keys: LinkKeyRing | null
    /** From GATEWAY_EDGE_LINK_KEYS(_FILE), the keys nginx checks edge links with; null: edge links are off. */
    readonly edgeKeys: LinkKeyRing | null
    /** The longest a link may live, and how long a revoked id is remembered. */
    readonly maxTtlSeconds: number
  }
  /** The admin listener; null when the config has no `admin` section. */
  readonly admin: {
    readonly host: string
    readonly port: number
    /** From GATEWAY_ADMIN_TOKEN(_FILE), required with an admin section. */
    readonly token: string
  } | null
  readonly acl: {
    readonly paths: readonly string[]
    readonly defaultEffect: 'allow' | 'deny'
    readonly watch: boolean
    readonly defaults: PolicyDefaults
  }
  /** Failed logins and unverifiable links and tokens allowed per window (docs/security.md). */
  readonly rateLimit: RateLimits
  readonly ops: OpsConfig
  readonly metrics: MetricsConfig
  /** Browsers: the login redirect and the refusal page (docs/browsers.md). */
  readonly browser: BrowserConfig
}

/** What may be logged of a config: everything but secrets. */
export function redactedConfig(config: GatewayConfig): object {
  return {
    ...config,
    delivery: {
      ...config.delivery,
      roots: config.delivery.roots.map((root) => ({
        ...root,
        credentials: {
          accessKeyId: root.credentials.accessKeyId,
          secretAccessKey: '[redacted]',
          sessionToken: root.credentials.sessionToken === undefined ? undefined : '[redacted]',
        },
      })),
    },
    links: {
      ...config.links,
      keys: config.links.keys ? `[${config.links.keys.byKid.size} redacted]` : null,
      edgeKeys: config.links.edgeKeys ? `[${config.links.edgeKeys.byKid.size} redacted]` : null,
    },
    admin: config.admin ? { ...config.admin, token: '[redacted]' } : null,
    session: {
      ...config.session,
      secrets: `[${config.session.secrets.length} redacted]`,
      flask: { ...config.session.flask, secretKeys: `[${config.session.flask.secretKeys.length} redacted]` },
      rails: {
        ...config.session.rails,
        secretKeyBases: `[${config.session.rails.secretKeyBases.length} redacted]`,
      },
      django: {
        ...config.session.django,
        secretKeys: `[${config.session.django.secretKeys.length} redacted]`,
        database: {
          ...config.session.django.database,
          url: config.session.django.database.url?.replace(/\/\/[^@/]*@/, '//[redacted]@'),
          password: config.session.django.database.password ? '[redacted]' : undefined,
        },
      },
      redis: {
        ...config.session.redis,
        url: config.session.redis.url.replace(/\/\/[^@/]*@/, '//[redacted]@'),
        password: config.session.redis.password ? '[redacted]' : undefined,
        sentinelPassword: config.session.redis.sentinelPassword ? '[redacted]' : undefined,
      },
      callback: config.session.callback && {
        ...config.session.callback,
        url: config.session.callback.url.replace(/\/\/[^@/]*@/, '//[redacted]@'),
        token: config.session.callback.token ? '[redacted]' : undefined,
      },
    },
  }
}
