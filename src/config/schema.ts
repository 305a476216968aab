// The one schema a gateway config file is checked against, and the one home of its defaults: ajv
// fills every `default` below (useDefaults), so a key left out of a file reads exactly as its
// default here, and nothing else in the code may invent one. Snake case, as operators write YAML;
// load-config.ts turns the checked document into the camel-case GatewayConfig the code uses.
// An object whose fields all have defaults has `default: {}` itself, so leaving it out entirely
// still fills them.
import { DEFAULT_POLICY } from '../acl/index.js'
import { DURATION_PATTERN } from '../duration.js'
import { browserSchema } from './browser-config.js'
import { djangoSchema } from './django-config.js'
import { metricsSchema, opsSchema } from './ops-config.js'
import { rateLimitSchema } from './rate-limit-config.js'
import { rootsSchema } from './roots-config.js'

const policy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // The ACL engine's own defaults, so the two can never disagree.
    disposition: { enum: ['attachment', 'inline'], default: DEFAULT_POLICY.disposition },
    limit_rate: {
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: '^[0-9]+[kKmMgG]?$' },
      ],
      default: DEFAULT_POLICY.limitRate,
    },
    cache_control: {
      type: 'string',
      minLength: 1,
      pattern: '^[\\x20-\\x7e]+$',
      default: DEFAULT_POLICY.cacheControl,
    },
    refusal: { enum: [403, 404], default: DEFAULT_POLICY.refusal },
  },
  default: {},
} as const

const FIELD_PATH = '^[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*$'
// RFC 6265's token characters: what a cookie name may be.
const COOKIE_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
export const LOG_FORMATS = ['auto', 'pretty', 'json']

export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery', 'session', 'acl'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
        log_level: { enum: LOG_LEVELS, default: 'info' },
        log_format: { enum: LOG_FORMATS, default: 'auto' },
        // Any shape here: trust-proxy.ts checks it, with one message that says what is accepted
        // instead of one line per alternative.
        trust_proxy: { default: false },
      },
      default: {},
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'files_root'],
      properties: {
        mode: { enum: ['x-accel', 'direct'] },
        files_root: { type: 'string', minLength: 1 },
        internal_prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', default: '_protected' },
        route_prefix: { type: 'string', pattern: '^/([A-Za-z0-9_-]+/)+$', default: '/download/' },
        roots: rootsSchema,
      },
    },
    session: {
      type: 'object',
      additionalProperties: false,
      required: ['store'],
      properties: {
        store: { enum: ['memory', 'redis'] },
        // Whose sessions these are: the format the main app writes. Each source adds its name here
        // and, where it needs settings of its own, a block `session.<name>` below.
        source: { enum: ['connect', 'callback', 'flask', 'rails', 'django', 'php'], default: 'connect' },
        cookie_name: { type: 'string', pattern: COOKIE_NAME, default: 'sessionId' },
        cookie_prefix: { type: 'string', maxLength: 8, default: '' },
        user_id_field: { type: 'string', pattern: FIELD_PATH, default: 'user.id' },
        groups_field: { type: 'string', pattern: FIELD_PATH, default: 'user.groups' },
        max_age_s: { type: 'integer', minimum: 60, default: 8 * 3600 },
        cookie: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // auto: Secure exactly when the client reached us (or the trusted proxy) over https;
            // never weaker than false.
            secure: { enum: [true, false, 'auto'], default: 'auto' },
            same_site: { enum: ['lax', 'strict', 'none'], default: 'lax' },
            // No default: without one the cookie is the host's alone.
            domain: { type: 'string', minLength: 1 },
            path: { type: 'string', pattern: '^/', default: '/' },
          },
          default: {},
        },
        // The stateless cookie sources: the whole session is in the cookie; their secrets come from
        // the environment (GATEWAY_FLASK_SECRET_KEYS, GATEWAY_RAILS_SECRET_KEY_BASE,
        // GATEWAY_DJANGO_SECRET_KEYS), never from this file.
        flask: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cookie_name: { type: 'string', pattern: COOKIE_NAME, default: 'session' },
            // PERMANENT_SESSION_LIFETIME: Flask's default is 31 days.
            max_age_s: { type: 'integer', minimum: 1, default: 31 * 24 * 3600 },
            salt: { type: 'string', minLength: 1, default: 'cookie-session' },
            user_field: { type: 'string', pattern: FIELD_PATH, default: '_user_id' },
            groups_field: { type: 'string', pattern: FIELD_PATH, default: 'groups' },
          },
          default: {},
        },
        rails: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cookie_name: { type: 'string', pattern: COOKIE_NAME, default: '_app_session' },
            // sha1: Rails 5.2-6.1; sha256: Rails 7+ (key_generator_hash_digest_class).
            key_digests: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { enum: ['sha256', 'sha1'] },
              default: ['sha256', 'sha1'],
            },
            require_purpose: { type: 'boolean', default: true },
            user_field: { type: 'string', pattern: FIELD_PATH, default: 'warden.user.user.key' },
            user_shape: { enum: ['devise', 'value'], default: 'devise' },
            groups_field: { type: 'string', pattern: FIELD_PATH, default: 'groups' },
          },
          default: {},
        },
        // Django's four session backends: config/django-config.ts.
        django: djangoSchema,
        redis: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // How Redis is deployed. single: one server at `url`; sentinel: the primary a Sentinel
            // group names (`nodes` are the sentinels); cluster: Redis Cluster (`nodes` are seeds).
            // Which keys go with which mode: redis-topology.ts, with the line of the key at fault.
            mode: { enum: ['single', 'sentinel', 'cluster'], default: 'single' },
            url: { type: 'string', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' },
            nodes: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              // host:port, or [IPv6]:port
              items: { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$' },
            },
            tls: { type: 'boolean', default: false },
            sentinel: {
              type: 'object',
              additionalProperties: false,
              properties: {
                master_name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
              },
            },
            key_prefix: { type: 'string', default: 'sess:' },
            connect_timeout_ms: { type: 'integer', minimum: 1, default: 2000 },
            command_timeout_ms: { type: 'integer', minimum: 1, default: 500 },
            client_cache: { type: 'boolean', default: false },
          },
          default: {},
        },
        // session.source: callback. url and cookie_names have no default: load-config.ts asks for
        // them, with the line of `source`, when that source is chosen.
        callback: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string', pattern: '^https?://' },
            cookie_names: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
            },
            timeout_ms: { type: 'integer', minimum: 1, maximum: 60000, default: 1000 },
            // The staleness bound: a logout in the app takes effect within it. 0: no cache.
            cache_ttl_ms: { type: 'integer', minimum: 0, maximum: 300000, default: 5000 },
            cache_max_entries: { type: 'integer', minimum: 1, default: 10000 },
            user_field: { type: 'string', pattern: FIELD_PATH, default: 'user' },
            groups_field: { type: 'string', pattern: FIELD_PATH, default: 'groups' },
            token_header: {
              type: 'string',
              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
              default: 'x-gateway-token',
            },
          },
          default: {},
        },
        // PHP's native sessions (source: php). Names follow php.ini's session.* settings, whose
        // built-in defaults these are; the Redis connection is session.redis's.
        php: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cookie_name: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: 'PHPSESSID' },
            save_handler: { enum: ['files', 'redis'], default: 'files' },
            // Required with the files handler (load-config.ts says so): no folder is a safe guess.
            save_path: { type: 'string', minLength: 1 },
            serialize_handler: { enum: ['php', 'php_serialize', 'php_binary'], default: 'php' },
            gc_maxlifetime: { type: 'integer', minimum: 1, default: 1440 },
            // The files handler's read; phpredis uses session.redis.command_timeout_ms.
            read_timeout_ms: { type: 'integer', minimum: 1, default: 500 },
            sid_length: { type: 'integer', minimum: 22, maximum: 256, default: 32 },
            sid_bits_per_character: { enum: [4, 5, 6], default: 4 },
            key_prefix: { type: 'string', default: 'PHPREDIS_SESSION:' },
            user_id_key: { type: 'string', pattern: FIELD_PATH, default: 'user_id' },
            groups_key: { type: 'string', pattern: FIELD_PATH, default: 'roles' },
            objects: { enum: ['inert', 'refuse'], default: 'inert' },
          },
          default: {},
        },
      },
    },
    login: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      properties: {
        enabled: { type: 'boolean' },
        users_file: { type: 'string', minLength: 1 },
        // Only the development config sets it: users may keep the password the README publishes.
        allow_published_password: { type: 'boolean', default: false },
      },
      // Required when login is enabled: load-config.ts says so with the line of `enabled`.
      default: { enabled: false },
    },
    links: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_ttl: { type: 'string', pattern: DURATION_PATTERN, default: '30d' },
      },
      default: {},
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    acl: {
      type: 'object',
      additionalProperties: false,
      required: ['paths'],
      properties: {
        paths: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        default: { enum: ['allow', 'deny'], default: 'deny' },
        watch: { type: 'boolean', default: true },
        defaults: policy,
      },
    },
    rate_limit: rateLimitSchema,
    ops: opsSchema,
    metrics: metricsSchema,
    browser: browserSchema,
  },
} as const
