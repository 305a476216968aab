// What a benchmark needs to run a real gateway: its config (x-accel, Redis sessions, the bench's
// ACL folder), a session in Redis with the cookie that names it, files of a given size, and a wait
// until a server answers. Shared by the full benchmark (run.ts) and the A/B comparison
// (side-by-side.ts), so both measure the same gateway.
import { randomBytes } from 'node:crypto'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createClient } from 'redis'
import { SessionCookieVerifier } from '../src/session/signed-cookie.js'
import { sleep } from '../test/harness/process.js'
import { benchAclFiles } from './acl-rules.js'
import type { Pinned } from './processes.js'

export const INTERNAL_PREFIX = '_protected'
const MiB = 1024 * 1024

/** The gateway's config; the ACL files are expected in `acl.d` beside it. */
export function gatewayYaml(filesRoot: string, redisUrl: string, clientCache: boolean): string {
  return `server:
  host: 127.0.0.1
  log_level: info
delivery:
  mode: x-accel
  files_root: ${filesRoot}
  internal_prefix: ${INTERNAL_PREFIX}
  route_prefix: /download/
session:
  store: redis
  cookie_name: sessionId
  cookie_prefix: ""
  user_id_field: user.id
  groups_field: user.groups
  redis:
    url: ${redisUrl}
    key_prefix: "sess:"
    connect_timeout_ms: 2000
    command_timeout_ms: 500
    client_cache: ${clientCache}
login:
  enabled: false
acl:
  paths: [acl.d]
  default: deny
  watch: false
`
}

/**
 * The gateway asking the main app at `whoamiUrl` who the session cookie belongs to
 * (session.source: callback), answers kept `cacheTtlMs`; the same files and rules as gatewayYaml.
 */
export function callbackGatewayYaml(filesRoot: string, whoamiUrl: string, cacheTtlMs: number): string {
  return `server:
  host: 127.0.0.1
  log_level: info
delivery:
  mode: x-accel
  files_root: ${filesRoot}
  internal_prefix: ${INTERNAL_PREFIX}
  route_prefix: /download/
session:
  store: memory
  source: callback
  callback:
    url: ${whoamiUrl}
    cookie_names: [sessionId]
    timeout_ms: 1000
    cache_ttl_ms: ${cacheTtlMs}
login:
  enabled: false
acl:
  paths: [acl.d]
  default: deny
  watch: false
`
}

/**
 * The same gateway with PHP's native sessions (source php) for the same user: in `savePath` (the
 * files handler) or in the same Redis (phpredis).
 */
export function phpGatewayYaml(
  filesRoot: string,
  redisUrl: string,
  handler: 'files' | 'redis',
  savePath: string,
): string {
  const connect = gatewayYaml(filesRoot, redisUrl, false)
  const php = `  source: php
  php:
    save_handler: ${handler}
    save_path: ${savePath}
    user_id_key: user_id
    groups_key: roles
    objects: refuse
`
  const yaml = connect.replace('session:\n  store: redis\n', `session:\n  store: memory\n${php}`)
  // Else the gateway would read the connect cookie every request also carries, and measure that.
  if (!yaml.includes('source: php')) throw new Error('gatewayYaml changed: update phpGatewayYaml')
  return yaml
}

/** The rule set gatewayYaml expects: `rules` rules in `dir`/acl.d, the bench folder among them. */
export async function writeAclFolder(dir: string, rules: number): Promise<void> {
  await mkdir(join(dir, 'acl.d'))
  for (const [name, text] of Object.entries(benchAclFiles(rules, 'bench')))
    await writeFile(join(dir, 'acl.d', name), text)
}

/**
 * A session as the main app would write it, and the Cookie header a browser would send with it:
 * the signed session cookie among the site's other cookies.
 */
export async function writeSession(redisUrl: string, secret: string): Promise<string> {
  const id = randomBytes(24).toString('base64url')
  const client = createClient({ url: redisUrl })
  await client.connect()
  try {
    const expires = new Date(Date.now() + 3600_000).toISOString()
    const session = {
      cookie: { originalMaxAge: 3600_000, expires, httpOnly: true, path: '/' },
      user: { id: 'bench-user', groups: ['staff', 'bench'] },
    }
    await client.set(`sess:${id}`, JSON.stringify(session), { EX: 3600 })
  } finally {
    await client.close()
  }
  const signed = new SessionCookieVerifier([secret], '').sign(id)
  return `theme=dark; sessionId=${encodeURIComponent(signed)}; _ga=GA1.2.3456`
}

/**
 * The bench user's $_SESSION as PHP writes it (serialize_handler php, the default) into both PHP
 * stores: `sess_<id>` in `savePath` and `PHPREDIS_SESSION:<id>` in Redis; the cookie pair PHP sets.
 */
export async function writePhpSession(redisUrl: string, savePath: string): Promise<string> {
  const id = randomBytes(16).toString('hex')
  const data =
    'user_id|s:10:"bench-user";roles|a:2:{i:0;s:5:"staff";i:1;s:5:"bench";}csrf|s:32:"0123456789abcdef0123456789abcdef";'
  await mkdir(savePath, { recursive: true })
  await writeFile(join(savePath, `sess_${id}`), data, { mode: 0o600 })
  const client = createClient({ url: redisUrl })
  await client.connect()
  try {
    await client.set(`PHPREDIS_SESSION:${id}`, data, { EX: 3600 })
  } finally {
    await client.close()
  }
  return `PHPSESSID=${id}`
}

/** A file of `bytes` random bytes. */
export async function writeSized(file: string, bytes: number): Promise<void> {
  const chunk = randomBytes(Math.min(bytes, MiB))
  const fh = await open(file, 'w')
  try {
    for (let written = 0; written < bytes; written += chunk.length) await fh.write(chunk)
  } finally {
    await fh.close()
  }
}

/** The link key of the bench gateways (`kid:secret`). */
export const BENCH_LINK_KEY = `bench:${randomBytes(32).toString('base64url')}`

/** The gateway's environment: its config, port and secret, and the decision line at `info`. */
export function gatewayEnv(config: string, port: number, secret: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Share links are on in every gateway setup: the link rows sign with this key.
    GATEWAY_LINK_KEYS: BENCH_LINK_KEY,
    GATEWAY_CONFIG: config,
    GATEWAY_PORT: String(port),
    GATEWAY_SESSION_SECRETS: secret,
    GATEWAY_LOG_LEVEL: 'info',
  }
}

/** Throws unless `url` answers 200 with exactly `bytes` bytes: nothing is timed before that. */
export async function checkServes(
  name: string,
  url: string,
  cookie: string | undefined,
  bytes: number,
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await fetch(url, { headers: { ...(cookie ? { cookie } : {}), ...headers } })
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status !== 200 || body.length !== bytes)
    throw new Error(`${name}: ${url} answered ${res.status} with ${body.length} bytes`)
}

/**
 * Waits until the server on `port` answers: a gateway with 200 on /healthz (once Redis answers),
 * the bare servers, which have no /healthz, with 404.
 */
export async function waitHttp(port: number, proc: Pinned, isGateway: boolean): Promise<void> {
  // A dozen gateways start at once on one core: on a busy machine that takes its time.
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${proc.name} exited during start (see its log)`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      await res.arrayBuffer()
      if (res.status === 200 || (res.status === 404 && !isGateway)) return
    } catch {
      // not listening yet
    }
    await sleep(50)
  }
  throw new Error(`${proc.name} did not start within 60 s`)
}

/** Throws unless `url` answers `status` (a refusal the bench measures) before anything is timed. */
export async function checkRefuses(
  name: string,
  url: string,
  cookie: string | undefined,
  status: number,
): Promise<void> {
  const res = await fetch(url, { headers: cookie ? { cookie } : {} })
  await res.arrayBuffer()
  if (res.status !== status || res.headers.has('x-accel-redirect'))
    throw new Error(`${name}: ${url} answered ${res.status}, expected the refusal ${status}`)
}
