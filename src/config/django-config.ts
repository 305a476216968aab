// `session.django`: Django's sessions, in any of its four backends. Kept apart from schema.ts and
// load-config.ts so those only wire it in. Defaults live in the schema (ajv fills them); the names
// follow Django's settings (SESSION_COOKIE_NAME, SESSION_COOKIE_AGE, CACHES' KEY_PREFIX and
// VERSION, DATABASES). Secrets come from the environment: GATEWAY_DJANGO_SECRET_KEYS and
// GATEWAY_DJANGO_DATABASE_PASSWORD (or their _FILE forms), never from the file.
import type { ConfigProblem } from './problems.js'
import type { YamlSource } from './yaml-source.js'

const FIELD_PATH = '^[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*$'
const COOKIE_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
// A table, or schema.table: plain SQL identifiers only, so quoting them needs no escaping.
const TABLE = '^[A-Za-z_][A-Za-z0-9_]{0,62}(\\.[A-Za-z_][A-Za-z0-9_]{0,62})?$'

export type DjangoBackend = 'signed_cookies' | 'db' | 'cache' | 'cached_db'

export interface DjangoConfig {
  readonly backend: DjangoBackend
  readonly cookieName: string
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
  readonly secretKeys: readonly string[]
  readonly maxAgeSeconds: number
  readonly legacySha1: boolean
  readonly userField: string
  readonly groupsField: string
  /** db, cache, cached_db: how long an answer is kept per session key (the staleness bound). */
  readonly answerCacheMs: number
  readonly answerCacheMaxEntries: number
  readonly database: {
    readonly url: string | undefined
    readonly host: string
    readonly port: number
    readonly name: string
    readonly user: string
    readonly password: string | undefined
    readonly poolSize: number
    readonly connectTimeoutMs: number
    readonly statementTimeoutMs: number
    readonly sessionTable: string
    readonly userTable: string
    readonly userGroupsTable: string
    readonly groupTable: string
  }
  readonly auth: {
    /** Read django.contrib.auth's tables (needs the database). */
    readonly enabled: boolean
    readonly groups: boolean
    readonly requireActive: boolean
    readonly verifySessionHash: boolean
    /** The auth_user column the gateway's user is: `id` (the pk the session holds), `username`... */
    readonly userColumn: string
  }
  readonly cache: {
    readonly keyPrefix: string
    readonly version: number
    readonly redisDb: number
  }
}

export const djangoSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    backend: { enum: ['signed_cookies', 'db', 'cache', 'cached_db'], default: 'signed_cookies' },
    cookie_name: { type: 'string', pattern: COOKIE_NAME, default: 'sessionid' },
    // SESSION_COOKIE_AGE: Django's default is two weeks. signed_cookies only.
    max_age_s: { type: 'integer', minimum: 1, default: 14 * 24 * 3600 },
    legacy_sha1: { type: 'boolean', default: false },
    user_field: { type: 'string', pattern: FIELD_PATH, default: '_auth_user_id' },
    groups_field: { type: 'string', pattern: FIELD_PATH, default: 'groups' },
    // 0: every download reads the store. More: a logout, deactivation or group change in the app
    // takes effect within this bound.
    answer_cache_ms: { type: 'integer', minimum: 0, maximum: 300000, default: 0 },
    answer_cache_max_entries: { type: 'integer', minimum: 1, default: 10000 },
    database: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', pattern: '^postgres(ql)?://' },
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 5432 },
        // No default: load-config asks for name and user (or a url) when the database is needed.
        name: { type: 'string', minLength: 1 },
        user: { type: 'string', minLength: 1 },
        pool_size: { type: 'integer', minimum: 1, maximum: 100, default: 4 },
        connect_timeout_ms: { type: 'integer', minimum: 1, default: 2000 },
        statement_timeout_ms: { type: 'integer', minimum: 1, default: 500 },
        session_table: { type: 'string', pattern: TABLE, default: 'django_session' },
        user_table: { type: 'string', pattern: TABLE, default: 'auth_user' },
        user_groups_table: { type: 'string', pattern: TABLE, default: 'auth_user_groups' },
        group_table: { type: 'string', pattern: TABLE, default: 'auth_group' },
      },
      default: {},
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false },
        groups: { type: 'boolean', default: true },
        require_active: { type: 'boolean', default: true },
        verify_session_hash: { type: 'boolean', default: true },
        // id: the pk, as the session holds it; `username` (or `email`...) names users by that.
        user_column: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', default: 'id' },
      },
      default: {},
    },
    cache: {
      type: 'object',
      additionalProperties: false,
      properties: {
        key_prefix: { type: 'string', default: '' },
        version: { type: 'integer', default: 1 },
        redis_db: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
      },
      default: {},
    },
  },
  default: {},
} as const

interface RawDjango {
  backend: DjangoBackend
  cookie_name: string
  max_age_s: number
  legacy_sha1: boolean
  user_field: string
  groups_field: string
  answer_cache_ms: number
  answer_cache_max_entries: number
  database: Record<string, string | number | undefined> & { url?: string; name?: string; user?: string }
  auth: {
    enabled: boolean
    groups: boolean
    require_active: boolean
    verify_session_hash: boolean
    user_column: string
  }
  cache: { key_prefix: string; version: number; redis_db: number }
}

export function djangoConfigFrom(
  raw: RawDjango,
  secretKeys: readonly string[],
  databasePassword: string | undefined,
): DjangoConfig {
  const d = raw.database
  return {
    backend: raw.backend,
    cookieName: raw.cookie_name,
    secretKeys,
    maxAgeSeconds: raw.max_age_s,
    legacySha1: raw.legacy_sha1,
    userField: raw.user_field,
    groupsField: raw.groups_field,
    answerCacheMs: raw.answer_cache_ms,
    answerCacheMaxEntries: raw.answer_cache_max_entries,
    database: {
      url: d.url,
      host: d.host as string,
      port: d.port as number,
      name: d.name ?? '',
      user: d.user ?? '',
      password: databasePassword,
      poolSize: d.pool_size as number,
      connectTimeoutMs: d.connect_timeout_ms as number,
      statementTimeoutMs: d.statement_timeout_ms as number,
      sessionTable: d.session_table as string,
      userTable: d.user_table as string,
      userGroupsTable: d.user_groups_table as string,
      groupTable: d.group_table as string,
    },
    auth: {
      enabled: raw.auth.enabled,
      groups: raw.auth.groups,
      requireActive: raw.auth.require_active,
      verifySessionHash: raw.auth.verify_session_hash,
      userColumn: raw.auth.user_column,
    },
    cache: { keyPrefix: raw.cache.key_prefix, version: raw.cache.version, redisDb: raw.cache.redis_db },
  }
}

/** Whether this Django config reads PostgreSQL: the db backends, or the auth tables. */
export function djangoNeedsDatabase(backend: DjangoBackend, authEnabled: boolean): boolean {
  return backend === 'db' || backend === 'cached_db' || (backend === 'cache' && authEnabled)
}

/** What the schema cannot say alone: the database named when it is needed. */
export function djangoProblems(raw: RawDjango, redisMode: string, source: YamlSource): ConfigProblem[] {
  const at = (path: string[]) => source.lineOf(['session', 'django', ...path])
  const problems: ConfigProblem[] = []
  // The cache backends' client (django-cache-storage.ts) speaks to one server, in django-redis'
  // database: refused rather than pointed at the wrong node of a Sentinel group or a cluster.
  if ((raw.backend === 'cache' || raw.backend === 'cached_db') && redisMode !== 'single')
    problems.push({
      file: source.file,
      line: at(['backend']),
      field: 'session.django.backend',
      message: `backend ${raw.backend} reads one Redis server: session.redis.mode ${redisMode} is not supported for it yet`,
    })
  if (raw.backend === 'signed_cookies' && raw.auth.enabled)
    problems.push({
      file: source.file,
      line: at(['auth', 'enabled']),
      field: 'session.django.auth.enabled',
      message: 'the auth tables are read with the db, cache and cached_db backends only',
    })
  const needed = djangoNeedsDatabase(raw.backend, raw.auth.enabled)
  if (!needed || raw.database.url !== undefined) return problems
  for (const key of ['name', 'user'] as const) {
    if (raw.database[key] === undefined)
      problems.push({
        file: source.file,
        line: at(['backend']),
        field: `session.django.database.${key}`,
        message: `required (or session.django.database.url) with backend ${raw.backend}${raw.backend === 'cache' ? ' and the auth tables' : ''}`,
      })
  }
  return problems
}
