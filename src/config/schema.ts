// The one schema a gateway config file is checked against. Snake case, as operators write YAML;
// load.ts turns the checked document into the camel-case GatewayConfig the code uses.

const policy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    disposition: { enum: ['attachment', 'inline'] },
    limit_rate: {
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: '^[0-9]+[kKmMgG]?$' },
      ],
    },
    cache_control: { type: 'string', minLength: 1, pattern: '^[\\x20-\\x7e]+$' },
    refusal: { enum: [403, 404] },
  },
} as const

export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery', 'session', 'acl'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        log_level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        // Any shape here: trust-proxy.ts checks it, with one message that says what is accepted
        // instead of one line per alternative.
        trust_proxy: {},
      },
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'files_root'],
      properties: {
        mode: { enum: ['x-accel', 'direct'] },
        files_root: { type: 'string', minLength: 1 },
        internal_prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
        route_prefix: { type: 'string', pattern: '^/([A-Za-z0-9_-]+/)+$' },
      },
    },
    session: {
      type: 'object',
      additionalProperties: false,
      required: ['store'],
      properties: {
        store: { enum: ['memory', 'redis'] },
        cookie_name: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
        cookie_prefix: { type: 'string', maxLength: 8 },
        user_id_field: { type: 'string', pattern: '^[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*$' },
        groups_field: { type: 'string', pattern: '^[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*$' },
        max_age_s: { type: 'integer', minimum: 60 },
        cookie: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // auto: Secure exactly when the client reached us (or the trusted proxy) over https.
            secure: { enum: [true, false, 'auto'] },
            same_site: { enum: ['lax', 'strict', 'none'] },
            domain: { type: 'string', minLength: 1 },
            path: { type: 'string', pattern: '^/' },
          },
        },
        redis: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string', pattern: '^rediss?://' },
            key_prefix: { type: 'string' },
            connect_timeout_ms: { type: 'integer', minimum: 1 },
            command_timeout_ms: { type: 'integer', minimum: 1 },
            client_cache: { type: 'boolean' },
          },
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
        allow_published_password: { type: 'boolean' },
      },
    },
    acl: {
      type: 'object',
      additionalProperties: false,
      required: ['paths'],
      properties: {
        paths: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        default: { enum: ['allow', 'deny'] },
        watch: { type: 'boolean' },
        defaults: policy,
      },
    },
  },
} as const
