// The `session` section of the loaded config: the YAML's settings (defaults filled by the schema)
// joined with what load-config.ts read from the environment (secrets, the Redis topology). Apart
// from load-config.ts so that file only wires the sections together.
import { resolve } from 'node:path'
import type { GatewayConfig } from './gateway-config.js'
import type { ConfigProblem } from './problems.js'
import type { RedisTopology } from './redis-topology.js'
import type { YamlSource } from './yaml-source.js'

type SessionConfig = GatewayConfig['session']

/** What the environment supplied, already read and checked by load-config.ts. */
export interface SessionInputs {
  readonly store: SessionConfig['store']
  readonly secrets: string[]
  readonly secretsGenerated: boolean
  readonly flaskKeys: string[]
  readonly railsKeys: string[]
  readonly django: SessionConfig['django']
  readonly redis: RedisTopology & { readonly url: string; readonly password: string | undefined }
  readonly callbackToken: string | undefined
  /** The config file's folder, against which relative paths resolve. */
  readonly baseDir: string
}

// biome-ignore lint/suspicious/noExplicitAny: the schema has checked the shape already
export function sessionConfigFrom(session: any, given: SessionInputs): SessionConfig {
  return {
    store: given.store,
    source: session.source,
    cookieName: session.cookie_name,
    cookiePrefix: session.cookie_prefix,
    userIdField: session.user_id_field.split('.'),
    groupsField: session.groups_field.split('.'),
    maxAgeSeconds: session.max_age_s,
    cookie: {
      secure: session.cookie.secure,
      sameSite: session.cookie.same_site,
      domain: session.cookie.domain,
      path: session.cookie.path,
    },
    secrets: given.secrets,
    secretsGenerated: given.secretsGenerated,
    flask: {
      cookieName: session.flask.cookie_name,
      secretKeys: given.flaskKeys,
      maxAgeSeconds: session.flask.max_age_s,
      salt: session.flask.salt,
      userField: session.flask.user_field,
      groupsField: session.flask.groups_field,
    },
    rails: {
      cookieName: session.rails.cookie_name,
      secretKeyBases: given.railsKeys,
      keyDigests: session.rails.key_digests,
      requirePurpose: session.rails.require_purpose,
      userField: session.rails.user_field,
      userShape: session.rails.user_shape,
      groupsField: session.rails.groups_field,
    },
    django: given.django,
    redis: {
      ...given.redis,
      tls: session.redis.tls,
      keyPrefix: session.redis.key_prefix,
      connectTimeoutMs: session.redis.connect_timeout_ms,
      commandTimeoutMs: session.redis.command_timeout_ms,
      clientCache: session.redis.client_cache,
    },
    callback:
      session.source === 'callback'
        ? {
            url: session.callback.url,
            cookieNames: session.callback.cookie_names,
            timeoutMs: session.callback.timeout_ms,
            cacheTtlMs: session.callback.cache_ttl_ms,
            cacheMaxEntries: session.callback.cache_max_entries,
            userField: session.callback.user_field.split('.'),
            groupsField: session.callback.groups_field.split('.'),
            tokenHeader: session.callback.token_header,
            token: given.callbackToken,
          }
        : undefined,
    php: {
      cookieName: session.php.cookie_name,
      saveHandler: session.php.save_handler,
      savePath:
        session.php.save_path === undefined ? undefined : resolve(given.baseDir, session.php.save_path),
      serializeHandler: session.php.serialize_handler,
      gcMaxLifetimeSeconds: session.php.gc_maxlifetime,
      readTimeoutMs: session.php.read_timeout_ms,
      sidLength: session.php.sid_length,
      sidBitsPerCharacter: session.php.sid_bits_per_character,
      keyPrefix: session.php.key_prefix,
      userIdKey: session.php.user_id_key.split('.'),
      groupsKey: session.php.groups_key.split('.'),
      objects: session.php.objects,
    },
  }
}

export function phpProblems(
  config: GatewayConfig,
  raw: { save_path?: string },
  source: YamlSource,
): ConfigProblem[] {
  if (config.session.source !== 'php' || config.session.php.saveHandler !== 'files') return []
  const field = 'session.php.save_path'
  if (raw.save_path === undefined) {
    const line = source.lineOf(['session', 'php', 'save_handler'])
    return [{ file: source.file, line, field, message: 'required with the files save handler' }]
  }
  // PHP's "N;/path" and "N;MODE;/path" spread sessions over N levels of sub-folders.
  if (raw.save_path.includes(';')) {
    const line = source.lineOf(['session', 'php', 'save_path'])
    const message = 'the "N;/path" form (sessions in sub-folders) is not supported: give the folder itself'
    return [{ file: source.file, line, field, message }]
  }
  return []
}
