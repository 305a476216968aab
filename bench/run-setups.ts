// The full benchmark's setups, started and checked: every server behind the project's own nginx
// template except nginx static, all pinned to the servers' core.
//   nginx static    nginx sends the files from a plain location (an extra server block)
//   bare handler    Fastify answering X-Accel-Redirect with no checks
//   node streaming  Fastify streaming the file itself
//   gateway         the real server (dist/src/server.js): Redis sessions, 1,000 ACL rules,
//                   decision log at `info` into a file, once with client_cache off and once on
//   gateway-metrics the cache-on gateway with its Prometheus metrics on (metrics.port); 1 KiB only
//   gateway-callback the same gateway asking a small main app (whoami-app.ts) who the session
//                   is, answers cached 5 s (session.source: callback); 1 KiB only
//   gateway link    the cache-off gateway asked with a share link for the bench folder (no cookie):
//                   the signature, then one Lua call to Redis (revoked? counted?) per download
//   gateway token   the same gateway asked with `Authorization: Bearer` (no cookie): one Redis read
//                   of the token's record, then the ACL as for a session
//   gateway link cached, gateway token cached  the same on the cache-on gateway: the revocation
//                   marker and the token's record answered from the client-tracking cache
//   gateway-php-*   the same gateway reading PHP's native sessions (source php): the files
//                   handler, and phpredis in the same Redis; 1 KiB only
//   gateway-flask, -rails, -django-signed  the same files and rules, the session in the framework's own
//                   signed or encrypted cookie (framework-sessions.ts); 1 KiB only
//   gateway 403, gateway 404-hidden  the cache-on gateway refusing: a folder of a group the bench
//                   user is not in, and a hidden one (refusal: 404); 1 KiB only
//   edge link       nginx alone checking an edge link with njs (edge-setup.ts); 1 KiB only
//   gateway-django-* the same gateway reading Django's sessions: db (a django_session row on
//                   PostgreSQL, then the auth user and groups: two queries), db-cached (the same
//                   with answer_cache_ms 1000, the documented staleness bound), cache (django-redis'
//                   pickled dict: one GET); 1 KiB only. PostgreSQL's own CPU is not counted.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type NginxServer, projectRoot, startNginx } from '../test/harness/nginx.js'
import { freePort } from '../test/harness/ports.js'
import { startPostgres } from '../test/harness/postgres.js'
import { startRedis } from '../test/harness/redis.js'
import { DJANGO_BENCH_SECRET, djangoGatewayYaml, writeDjangoSession } from './django-setup.js'
import { startEdgeSetup } from './edge-setup.js'
import { benchCredentials, staticServer } from './extra-setups.js'
import { djangoGateway, flaskGateway, railsGateway } from './framework-sessions.js'
import {
  callbackGatewayYaml,
  checkRefuses,
  checkServes,
  gatewayEnv,
  gatewayYaml,
  INTERNAL_PREFIX,
  phpGatewayYaml,
  waitHttp,
  writeAclFolder,
  writePhpSession,
  writeSession,
} from './gateway-setup.js'
import { type Pinned, spawnPinned } from './processes.js'
import { SERVER_CPU, SIZES } from './run-settings.js'

const SECRET = randomBytes(32).toString('base64url')
const ACL_RULES = 1_000
/** The callback gateway's cache_ttl_ms: the default, so the row shows the setting most run. */
const CALLBACK_CACHE_TTL_MS = 5000

export interface Setup {
  readonly name: string
  /** Where wrk sends its requests (path appended). */
  readonly base: string
  /** The Node process behind nginx, if any. */
  readonly node: Pinned | undefined
  readonly nginx: NginxServer
  /** Redis counts towards this setup's server time. */
  readonly usesRedis: boolean
  /** Other processes working for this setup on the servers' core (a main app it asks). */
  readonly helperPids?: readonly number[]
  /** Measured at these sizes only (undefined: all). */
  readonly onlySizes?: readonly string[]
  /** Appended after the file's path (a share link's `?gwl=`). */
  readonly query?: string
  /** Request headers instead of the browser's cookies (`Authorization: Bearer ...`). */
  readonly headers?: readonly string[]
  /** The browser's cookies for this setup, when its session is in a cookie of its own. */
  readonly cookie?: string
  /** The file asked for instead of the size's (a refusal's path); its answer's status. */
  readonly refusal?: { readonly path: string; readonly status: number }
}

export interface Gateway {
  readonly name: string
  readonly port: number
  readonly proc: Pinned
  readonly usesRedis: boolean
}

export interface Setups {
  readonly setups: readonly Setup[]
  /** The setups in the order of an even round (odd rounds run it backwards). */
  readonly roundOrder: readonly Setup[]
  readonly gateways: readonly Gateway[]
  readonly redisPid: number
  /** The Cookie header every request carries: the gateways' session among the site's cookies. */
  readonly cookie: string
}

// The gateways run right after the bare handler and before node streaming, so the pairs the
// targets compare are measured close together.
const ROUND_ORDER = [
  'nginx static',
  'edge link',
  'bare handler',
  'gateway-cache-on',
  'gateway-cache-off',
  'gateway-metrics',
  'gateway-callback',
  'gateway link',
  'gateway token',
  'gateway link cached',
  'gateway token cached',
  'gateway-php-redis',
  'gateway-php-files',
  'gateway-django-db',
  'gateway-django-db-cached',
  'gateway-django-cache',
  'gateway-flask',
  'gateway-rails',
  'gateway-django-signed',
  'gateway 403',
  'gateway 404-hidden',
  'node streaming',
]

/** Paths of bench/acl-rules.ts the bench user may not have: a group's folder, a hidden folder. */
const REFUSALS = [
  { name: 'gateway 403', path: 'customers/c3/report.pdf', status: 403 },
  { name: 'gateway 404-hidden', path: 'customers/c0/secret/plan.pdf', status: 404 },
] as const

/**
 * Starts every setup over the files in `filesRoot` (the SIZES already written) and checks that
 * each answers the real bytes. Each stop function is pushed to `stops` as soon as its process
 * runs, so the caller stops whatever started even when a later start fails.
 */
export async function startSetups(
  dir: string,
  filesRoot: string,
  stops: (() => Promise<void>)[],
): Promise<Setups> {
  const root = projectRoot()
  await writeAclFolder(dir, ACL_RULES)
  const redis = await startRedis({ cpuList: SERVER_CPU })
  stops.push(() => redis.stop())
  const phpSavePath = join(dir, 'php-sessions')
  // One Cookie header for every setup, as a browser on a site with both apps would send.
  const postgres = await startPostgres({ cpuList: SERVER_CPU })
  stops.push(() => postgres.stop())
  const cookie = [
    await writeSession(redis.url, SECRET),
    await writePhpSession(redis.url, phpSavePath),
    await writeDjangoSession(postgres, redis.url),
  ].join('; ')

  const node = (name: string, script: string, args: string[], env?: NodeJS.ProcessEnv) => {
    const p = spawnPinned(
      name,
      SERVER_CPU,
      process.execPath,
      [script, ...args],
      join(dir, `${name}.log`),
      env,
    )
    stops.push(() => p.stop())
    return p
  }
  const benchDir = join(root, 'dist/bench')
  const barePort = await freePort()
  const bare = node('bare', join(benchDir, 'bare-handler.js'), [String(barePort), INTERNAL_PREFIX])
  const streamPort = await freePort()
  const stream = node('stream', join(benchDir, 'node-stream.js'), [String(streamPort), filesRoot])
  const gateways: Gateway[] = []
  const djangoEnv = {
    GATEWAY_DJANGO_SECRET_KEYS: DJANGO_BENCH_SECRET,
    GATEWAY_DJANGO_DATABASE_PASSWORD: postgres.password,
  }
  const frameworks = [flaskGateway(filesRoot), railsGateway(filesRoot), djangoGateway(filesRoot)]
  const frameworkCookies = new Map(frameworks.map((f) => [f.name, `theme=dark; ${f.cookie}; _ga=GA1.2.3456`]))
  const gatewayConfigs: [name: string, yaml: string, usesRedis: boolean, env?: NodeJS.ProcessEnv][] = [
    ['gateway-cache-off', gatewayYaml(filesRoot, redis.url, false), true],
    ['gateway-cache-on', gatewayYaml(filesRoot, redis.url, true), true],
    // The cache-on gateway with its Prometheus metrics on: their cost is the ratio to cache-on.
    [
      'gateway-metrics',
      `${gatewayYaml(filesRoot, redis.url, true)}metrics:\n  host: 127.0.0.1\n  port: ${await freePort()}\n`,
      true,
    ],
    ['gateway-php-redis', phpGatewayYaml(filesRoot, redis.url, 'redis', phpSavePath), true],
    ['gateway-php-files', phpGatewayYaml(filesRoot, redis.url, 'files', phpSavePath), false],
    ['gateway-django-db', djangoGatewayYaml(filesRoot, redis.url, 'db', postgres, 0), false, djangoEnv],
    [
      'gateway-django-db-cached',
      djangoGatewayYaml(filesRoot, redis.url, 'db', postgres, 1000),
      false,
      djangoEnv,
    ],
    ['gateway-django-cache', djangoGatewayYaml(filesRoot, redis.url, 'cache', postgres, 0), true, djangoEnv],
    ...frameworks.map((f) => [f.name, f.yaml, false, f.env] as [string, string, boolean, NodeJS.ProcessEnv]),
  ]
  for (const [name, yaml, usesRedis, env] of gatewayConfigs) {
    const port = await freePort()
    const config = join(dir, `${name}.yaml`)
    await writeFile(config, yaml)
    // BENCH_CPU_PROF=<dir>: each gateway writes a V8 CPU profile there when it stops.
    const prof = process.env.BENCH_CPU_PROF
    const script = join(root, 'dist/src/server.js')
    const proc = node(name, prof ? '--cpu-prof' : script, prof ? ['--cpu-prof-dir', prof, script] : [], {
      ...gatewayEnv(config, port, SECRET),
      ...env,
    })
    gateways.push({ name, port, proc, usesRedis })
  }
  // The callback gateway's main app knows the bench session by the cookie value wrk sends.
  const appPort = await freePort()
  const sessionValue = /(?:^|; )sessionId=([^;]*)/.exec(cookie)?.[1] ?? ''
  const app = node('whoami-app', join(benchDir, 'whoami-app.js'), [
    String(appPort),
    'sessionId',
    sessionValue,
  ])
  const callbackPort = await freePort()
  const callbackConfig = join(dir, 'gateway-callback.yaml')
  await writeFile(
    callbackConfig,
    callbackGatewayYaml(filesRoot, `http://127.0.0.1:${appPort}/auth/whoami`, CALLBACK_CACHE_TTL_MS),
  )
  const callback = node(
    'gateway-callback',
    join(root, 'dist/src/server.js'),
    [],
    gatewayEnv(callbackConfig, callbackPort, SECRET),
  )
  await waitHttp(appPort, app, false)
  for (const [port, proc] of [
    [barePort, bare],
    [streamPort, stream],
    ...gateways.map((g) => [g.port, g.proc] as const),
    [callbackPort, callback],
  ] as const)
    await waitHttp(port, proc, proc.name.startsWith('gateway'))

  const staticPort = await freePort()
  const nginxFor = async (upstreamPort: number, extra?: string) => {
    const n = await startNginx({
      gatewayPort: upstreamPort,
      filesRoot,
      internalPrefix: INTERNAL_PREFIX,
      cpuList: SERVER_CPU,
      accessLog: false,
      ...(extra ? { extraHttpConfig: extra } : {}),
    })
    stops.push(() => n.stop())
    return n
  }
  const bareNginx = await nginxFor(barePort, staticServer(staticPort, filesRoot))
  const setups: Setup[] = [
    {
      name: 'nginx static',
      base: `http://127.0.0.1:${staticPort}/static/`,
      node: undefined,
      nginx: bareNginx,
      usesRedis: false,
    },
    {
      name: 'bare handler',
      base: `${bareNginx.baseUrl}/download/`,
      node: bare,
      nginx: bareNginx,
      usesRedis: false,
    },
  ]
  const streamNginx = await nginxFor(streamPort)
  setups.push({
    name: 'node streaming',
    base: `${streamNginx.baseUrl}/download/`,
    node: stream,
    nginx: streamNginx,
    usesRedis: false,
  })
  for (const g of gateways) {
    const n = await nginxFor(g.port)
    setups.push({
      name: g.name,
      base: `${n.baseUrl}/download/`,
      node: g.proc,
      nginx: n,
      usesRedis: g.usesRedis,
      // A session source's cost is the decision's, which 1 KiB measures; larger files only add
      // nginx's sending, the same for every source.
      ...(/^gateway-(php|django)/.test(g.name) || g.name === 'gateway-metrics' || frameworkCookies.has(g.name)
        ? { onlySizes: ['1 KiB'] }
        : {}),
      ...(frameworkCookies.has(g.name) ? { cookie: frameworkCookies.get(g.name) } : {}),
    })
  }
  const callbackNginx = await nginxFor(callbackPort)
  setups.push({
    name: 'gateway-callback',
    base: `${callbackNginx.baseUrl}/download/`,
    node: callback,
    nginx: callbackNginx,
    usesRedis: false,
    helperPids: [app.pid],
    onlySizes: ['1 KiB'],
  })
  const cacheOff = setups.find((s) => s.name === 'gateway-cache-off') as Setup
  const credentials = await benchCredentials(redis.url)
  setups.push(
    { ...cacheOff, name: 'gateway link', query: credentials.query },
    { ...cacheOff, name: 'gateway token', headers: [`Authorization: Bearer ${credentials.token}`] },
  )
  const cacheOn = setups.find((s) => s.name === 'gateway-cache-on') as Setup
  setups.push(
    { ...cacheOn, name: 'gateway link cached', query: credentials.query, onlySizes: ['1 KiB'] },
    {
      ...cacheOn,
      name: 'gateway token cached',
      headers: [`Authorization: Bearer ${credentials.token}`],
      onlySizes: ['1 KiB'],
    },
  )
  setups.push(await startEdgeSetup(dir, filesRoot, barePort, stops))
  for (const r of REFUSALS)
    setups.push({
      ...cacheOn,
      name: r.name,
      onlySizes: ['1 KiB'],
      refusal: { path: r.path, status: r.status },
    })
  const roundOrder = [...setups].sort((a, b) => ROUND_ORDER.indexOf(a.name) - ROUND_ORDER.indexOf(b.name))

  // Every setup must answer the real bytes before anything is timed.
  for (const s of setups) {
    const headers = Object.fromEntries((s.headers ?? []).map((h) => h.split(': ', 2) as [string, string]))
    const url = s.base + (s.refusal?.path ?? SIZES[0].file) + (s.query ?? '')
    const sent = s.headers || s.query ? undefined : (s.cookie ?? cookie)
    if (s.refusal) await checkRefuses(s.name, url, sent, s.refusal.status)
    else await checkServes(s.name, url, sent, SIZES[0].bytes, headers)
  }
  return { setups, roundOrder, gateways, redisPid: redis.pid, cookie }
}
