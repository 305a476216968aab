// Loads the gateway config: the YAML file chosen by the environment, checked against one schema
// with every problem reported at once (the schema also fills every default), then environment
// overrides, secrets and paths resolved against the file's folder, then frozen. No default is
// written here: they all live in schema.ts.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseLimitRate } from '../acl/index.js'
import { parseEdgeLinkKeys, parseLinkKeys } from '../credentials/links/link-keys.js'
import { deepFreeze } from '../deep-freeze.js'
import { parseDuration } from '../duration.js'
import { browserConfigFrom } from './browser-config.js'
import { djangoConfigFrom, djangoProblems } from './django-config.js'
import { type Env, readFrameworkSecrets, readSecrets, readSecretValue } from './env-secrets.js'
import type { GatewayConfig } from './gateway-config.js'
import { metricsConfigFrom, opsConfigFrom } from './ops-config.js'
import { ConfigError, type ConfigProblem } from './problems.js'
import { rateLimitsFrom } from './rate-limit-config.js'
import { readRedisTopology } from './redis-topology.js'
import { objectRootsFrom } from './roots-config.js'
import { gatewayConfigSchema, LOG_FORMATS, LOG_LEVELS } from './schema.js'
import { compileSchemaCheck, fieldName } from './schema-check.js'
import { phpProblems, sessionConfigFrom } from './session-config.js'
import { parseTrustProxy, parseTrustProxyEnv, type TrustProxy } from './trust-proxy.js'
import { parseYamlSource, type YamlSource } from './yaml-source.js'

export const DEFAULT_CONFIG_FILE = 'config/gateway.yaml'

const checkSchema = compileSchemaCheck(gatewayConfigSchema)

/** Reads and checks the config; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): GatewayConfig {
  const file = resolve(cwd, env.GATEWAY_CONFIG || DEFAULT_CONFIG_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([{ file, line: 0, field: '(file)', message: (err as Error).message }])
  }
  return parseConfig(file, text, env)
}

/** Pure apart from reading secret files named by the environment. */
export function parseConfig(file: string, text: string, env: Env): GatewayConfig {
  const { source, problems } = parseYamlSource(file, text)
  if (!source) throw new ConfigError(problems)
  const schemaProblems = checkSchema(source)
  if (schemaProblems.length > 0) throw new ConfigError(schemaProblems)
  // biome-ignore lint/suspicious/noExplicitAny: the schema above has just checked the shape
  const raw = source.data as any
  const envProblems: ConfigProblem[] = []
  const envProblem = (name: string, message: string) =>
    envProblems.push({ file: `environment`, line: 0, field: name, message })

  const baseDir = dirname(file)
  const port = env.GATEWAY_PORT !== undefined ? Number(env.GATEWAY_PORT) : raw.server.port
  if (!Number.isInteger(port) || port < 0 || port > 65535) envProblem('GATEWAY_PORT', 'must be a port number')

  const logLevel = env.GATEWAY_LOG_LEVEL || raw.server.log_level
  if (!LOG_LEVELS.includes(logLevel))
    envProblem('GATEWAY_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`)
  const logFormat = env.GATEWAY_LOG_FORMAT || raw.server.log_format
  if (!LOG_FORMATS.includes(logFormat))
    envProblem('GATEWAY_LOG_FORMAT', `must be one of ${LOG_FORMATS.join(', ')}`)

  const store = raw.session.store as 'memory' | 'redis'
  const secrets = readSecrets(env, envProblem)
  let secretsGenerated = false
  if (secrets.length === 0) {
    // Only connect-style cookies are signed; other sources' sessions carry no secret of ours.
    if (store === 'redis' && raw.session.source === 'connect') {
      envProblem(
        'GATEWAY_SESSION_SECRETS',
        'a shared session store needs the secrets the main app signs cookies with (GATEWAY_SESSION_SECRETS or GATEWAY_SESSION_SECRETS_FILE)',
      )
    } else {
      // The embedded store forgets every session on restart anyway, so a per-process secret loses
      // nothing and keeps the default start free of set-up.
      secrets.push(randomBytes(32).toString('base64url'))
      secretsGenerated = true
    }
  }
  const sourceName = raw.session.source as GatewayConfig['session']['source']
  const frameworkKeys = (source: string, name: string) =>
    sourceName === source ? readFrameworkSecrets(env, name, envProblem) : []
  const flaskKeys = frameworkKeys('flask', 'GATEWAY_FLASK_SECRET_KEYS')
  const railsKeys = frameworkKeys('rails', 'GATEWAY_RAILS_SECRET_KEY_BASE')
  const djangoKeys = frameworkKeys('django', 'GATEWAY_DJANGO_SECRET_KEYS')
  const djangoDatabasePassword =
    sourceName === 'django' ? readSecretValue(env, 'GATEWAY_DJANGO_DATABASE_PASSWORD', envProblem) : undefined
  const redisUrl = env.GATEWAY_REDIS_URL || raw.session.redis.url
  const redisPassword = readSecretValue(env, 'GATEWAY_REDIS_PASSWORD', envProblem)
  const sentinelPassword = readSecretValue(env, 'GATEWAY_REDIS_SENTINEL_PASSWORD', envProblem)
  const callbackToken = readSecretValue(env, 'GATEWAY_CALLBACK_TOKEN', envProblem)
  if (callbackToken !== undefined && callbackToken.length < 32)
    envProblem('GATEWAY_CALLBACK_TOKEN', 'must be at least 32 characters long')
  const linkKeys = parseLinkKeys(readSecretValue(env, 'GATEWAY_LINK_KEYS', envProblem))
  if (!linkKeys.ok) envProblem('GATEWAY_LINK_KEYS', linkKeys.message)
  const edgeKeys = parseEdgeLinkKeys(readSecretValue(env, 'GATEWAY_EDGE_LINK_KEYS', envProblem))
  if (!edgeKeys.ok) envProblem('GATEWAY_EDGE_LINK_KEYS', edgeKeys.message)
  const adminToken = readSecretValue(env, 'GATEWAY_ADMIN_TOKEN', envProblem)
  if (raw.admin && (adminToken === undefined || adminToken.length < 32))
    envProblem('GATEWAY_ADMIN_TOKEN', 'the admin listener needs a token of at least 32 characters')
  const trustProxy = readTrustProxy(env, raw.server.trust_proxy, source, envProblem)
  const redis = readRedisTopology(raw.session.redis, source, env, sentinelPassword)
  envProblems.push(...redis.problems)
  if (envProblems.length > 0 || trustProxy === undefined) throw new ConfigError(envProblems)
  const objectRoots = objectRootsFrom(
    raw.delivery.roots,
    { mode: raw.delivery.mode, internalPrefix: raw.delivery.internal_prefix },
    source,
    (name) => readSecretValue(env, name, envProblem),
  )
  if (objectRoots.problems.length > 0 || envProblems.length > 0)
    throw new ConfigError([...objectRoots.problems, ...envProblems])

  const { server, delivery, session, login, acl } = raw
  const config: GatewayConfig = {
    configFile: file,
    server: {
      host: env.GATEWAY_HOST || server.host,
      port,
      logLevel,
      logFormat,
      trustProxy,
    },
    delivery: {
      mode: delivery.mode,
      filesRoot: resolve(baseDir, delivery.files_root),
      internalPrefix: delivery.internal_prefix,
      routePrefix: delivery.route_prefix,
      roots: objectRoots.roots,
    },
    session: sessionConfigFrom(session, {
      store,
      secrets,
      secretsGenerated,
      flaskKeys,
      railsKeys,
      django: djangoConfigFrom(session.django, djangoKeys, djangoDatabasePassword),
      redis: {
        ...redis.topology,
        url: redisUrl,
        password: redisPassword,
      },
      callbackToken,
      baseDir,
    }),
    login: {
      enabled: login.enabled,
      usersFile: login.users_file ? resolve(baseDir, login.users_file) : undefined,
      allowPublishedPassword: login.allow_published_password,
    },
    links: {
      keys: linkKeys.ok ? linkKeys.ring : null,
      edgeKeys: edgeKeys.ok ? edgeKeys.ring : null,
      // the schema has checked the form already
      maxTtlSeconds: parseDuration(raw.links.max_ttl) as number,
    },
    admin: raw.admin ? { host: raw.admin.host, port: raw.admin.port, token: adminToken as string } : null,
    acl: {
      paths: (acl.paths as string[]).map((p) => resolve(baseDir, p)),
      defaultEffect: acl.default,
      watch: acl.watch,
      defaults: {
        disposition: acl.defaults.disposition,
        // The schema has checked the form already.
        limitRate: parseLimitRate(acl.defaults.limit_rate) ?? 0,
        cacheControl: acl.defaults.cache_control,
        refusal: acl.defaults.refusal,
      },
    },
    rateLimit: rateLimitsFrom(raw.rate_limit),
    ops: opsConfigFrom(raw.ops),
    metrics: metricsConfigFrom(raw.metrics),
    browser: browserConfigFrom(raw.browser, login.enabled, source, baseDir),
  }
  const sourceProblem = sourceSettingsProblem(raw.session, source)
  if (sourceProblem) throw new ConfigError([sourceProblem])
  const settingsProblems = [
    ...phpProblems(config, session.php, source),
    ...(config.session.source === 'django' ? djangoProblems(session.django, session.redis.mode, source) : []),
  ]
  if (settingsProblems.length > 0) throw new ConfigError(settingsProblems)
  if (config.login.enabled && config.session.source !== 'connect') {
    // The built-in login writes connect-style sessions, which no other source would ever read.
    throw new ConfigError([
      {
        file,
        line: source.lineOf(['login', 'enabled']),
        field: 'login.enabled',
        message: `the built-in login writes connect sessions; with session.source ${config.session.source} the main app logs users in: set it to false`,
      },
    ])
  }
  if (config.login.enabled && !config.login.usersFile) {
    throw new ConfigError([
      {
        file,
        line: source.lineOf(['login', 'enabled']),
        field: 'login.users_file',
        message: 'required when login is enabled',
      },
    ])
  }
  return deepFreeze(config)
}

/** What the chosen session source needs and the schema cannot ask for without knowing the source. */
function sourceSettingsProblem(
  session: { source: string; callback: { url?: string; cookie_names?: string[] } },
  source: YamlSource,
): ConfigProblem | undefined {
  if (session.source !== 'callback') return undefined
  const line = source.lineOf(['session', 'source'])
  for (const key of ['url', 'cookie_names'] as const) {
    if (session.callback[key] === undefined)
      return {
        file: source.file,
        line,
        field: `session.callback.${key}`,
        message: 'required when session.source is callback',
      }
  }
  const url = session.callback.url as string
  if (!URL.canParse(url))
    return {
      file: source.file,
      line: source.lineOf(['session', 'callback', 'url']),
      field: 'session.callback.url',
      message: 'is not a URL',
    }
  return undefined
}

/** GATEWAY_TRUST_PROXY, else server.trust_proxy, else false; undefined after a problem. */
function readTrustProxy(
  env: Env,
  fromFile: unknown,
  source: YamlSource,
  envProblem: (name: string, message: string) => void,
): TrustProxy | undefined {
  const fromEnv = env.GATEWAY_TRUST_PROXY
  if (fromEnv !== undefined && fromEnv !== '') {
    const parsed = parseTrustProxyEnv(fromEnv)
    if (parsed.ok) return parsed.value
    envProblem('GATEWAY_TRUST_PROXY', parsed.message)
    return undefined
  }
  const parsed = parseTrustProxy(fromFile)
  if (parsed.ok) return parsed.value
  const at = parsed.index === undefined ? [] : [parsed.index]
  throw new ConfigError([
    {
      file: source.file,
      line: source.lineOf(['server', 'trust_proxy', ...at]),
      field: fieldName(['server', 'trust_proxy', ...at]),
      message: parsed.message,
    },
  ])
}
