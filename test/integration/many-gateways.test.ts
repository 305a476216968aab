// Three real gateway processes behind the project's nginx template, one Redis: downloads keep
// working while one gateway is stopped (SIGTERM) under load, and while all three are restarted one
// after the other. Every answer the clients see is checked: 200 and the file's exact bytes (nginx
// sends them after the gateway's X-Accel-Redirect). Half the downloads use a share link with a
// download limit: Redis must have counted each of them exactly once, so no request was decided by
// one gateway and then retried on another.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import t, { type Test } from 'tap'
import { issueLink } from '../../src/credentials/issue.js'
import { parseLinkKeys } from '../../src/credentials/links/link-keys.js'
import { singleRedis } from '../../src/redis/connection.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import { type GatewayProcess, startGatewayProcess } from '../harness/gateway-process.js'
import { startNginx } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { sleep } from '../harness/process.js'
import { startRedis } from '../harness/redis.js'
import {
  makeScenarioTree,
  SCENARIO_ACL,
  SCENARIO_COMMAND_TIMEOUT_MS,
  scenarioUsersYaml,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const SECRET = 'many-gateways-secret-many-gateways-0123456789'
const LINK_KEY = `k1:${'7'.repeat(40)}`
const CLIENTS = 8
// nginx skips a gateway it could not reach for fail_timeout (10 s by default). A rolling restart
// waits that long after each gateway is ready again: a faster one leaves nginx with every gateway
// marked down when the last one stops, and it answers 502 "no live upstreams" (measured with
// fail_timeout=60s: 16,454 of 24,490 downloads failed). A short one keeps this test short.
const FAIL_TIMEOUT_S = 2

const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const redis = await startRedis()
t.teardown(() => redis.stop())
const dir = await mkdtemp(join(tmpdir(), 'gw-many-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
await mkdir(join(dir, 'acl.d'))
await writeFile(join(dir, 'acl.d', '10-test.yaml'), SCENARIO_ACL)
await writeFile(join(dir, 'users.yaml'), await scenarioUsersYaml())
await writeFile(join(dir, 'secrets'), `${SECRET}\n`)
// The scenario's config with its decision lines off (thousands would only fill the pipe) and a
// Redis command timeout for a busy machine: the scenario's 300 ms, meant for a hung Redis, timed
// out link admissions (503) while three gateways started at once on two loaded cores.
const config = X_ACCEL_REDIS_CONFIG.replace('log_level: info', 'log_level: warn')
  .replace(`command_timeout_ms: ${SCENARIO_COMMAND_TIMEOUT_MS}`, 'command_timeout_ms: 5000')
  .replace(/\$\{FILES_ROOT\}/, tree.root)
  .replace(/\$\{REDIS_URL\}/, redis.url)
if (!config.includes('log_level: warn') || !config.includes('command_timeout_ms: 5000'))
  throw new Error('the scenario config changed')
await writeFile(join(dir, 'gateway.yaml'), config)
const env = {
  GATEWAY_CONFIG: join(dir, 'gateway.yaml'),
  GATEWAY_SESSION_SECRETS_FILE: join(dir, 'secrets'),
  GATEWAY_LINK_KEYS: LINK_KEY,
}

// alice's session, written as the main app would, and her signed cookie.
const writer = new RedisSessionStore({
  ...singleRedis(redis.url),
  keyPrefix: 'sess:',
  connectTimeoutMs: 1000,
  commandTimeoutMs: 1000,
  clientCache: false,
})
await writer.connect()
await writer.set('alice-session', { cookie: {}, user: { id: 'alice', groups: ['finance'] } }, 3600)
await writer.close()
const cookie = `sid=${encodeURIComponent(new SessionCookieVerifier([SECRET], '').sign('alice-session'))}`

// A link to another file, limited far above what the test downloads: each admission counts once.
const ring = parseLinkKeys(LINK_KEY)
if (!ring.ok || ring.ring === null) throw new Error('link key')
const issued = issueLink(
  { path: '/public/hello.txt', ttl: '1h', issuer: 'ops', maxDownloads: 1_000_000 },
  ring.ring,
  { maxTtlSeconds: 86_400, routePrefix: '/download/' },
  Math.floor(Date.now() / 1000),
)
if (!issued.ok) throw new Error(issued.message)
const link = issued.value

const ports = [await freePort(), await freePort(), await freePort()]
const gateways: GatewayProcess[] = ports.map((port) => startGatewayProcess(port, env))
t.teardown(() => Promise.all(gateways.map((g) => g.stop('SIGKILL'))))
await Promise.all(gateways.map((g) => g.ready()))
const nginx = await startNginx({
  gatewayPort: ports,
  gatewayParameters: `fail_timeout=${FAIL_TIMEOUT_S}s`,
  filesRoot: tree.root,
})

/** Until nginx tries a gateway it marked down again. */
const nginxForgets = () => sleep(FAIL_TIMEOUT_S * 1000 + 500)
t.teardown(() => nginx.stop())

interface Download {
  path: string
  headers: Record<string, string>
  bytes: Buffer
  viaLink: boolean
}
const DOWNLOADS: Download[] = [
  {
    path: '/download/reports/q1.pdf',
    headers: { cookie },
    bytes: tree.files['reports/q1.pdf'] as Buffer,
    viaLink: false,
  },
  { path: link.url, headers: {}, bytes: tree.files['public/hello.txt'] as Buffer, viaLink: true },
]

interface LoadResult {
  ok: number
  viaLink: number
  failures: string[]
}

/** `CLIENTS` clients downloading through nginx over keepalive connections until `stop()`. */
function startLoad(): { stop(): Promise<LoadResult> } {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  const result: LoadResult = { ok: 0, viaLink: 0, failures: [] }
  let running = true
  const one = (d: Download) =>
    new Promise<void>((resolve) => {
      const began = Date.now()
      const failed = (why: string) => {
        result.failures.push(`${d.path.slice(0, 30)} after ${Date.now() - began} ms: ${why}`)
        resolve()
      }
      const req = httpRequest(
        { host: '127.0.0.1', port: nginx.port, path: d.path, headers: d.headers, agent, timeout: 15_000 },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const body = Buffer.concat(chunks)
            if (res.statusCode !== 200 || !body.equals(d.bytes)) {
              failed(`${res.statusCode} ${body.subarray(0, 120).toString()}`)
              return
            }
            result.ok++
            if (d.viaLink) result.viaLink++
            resolve()
          })
          res.on('error', (err) => failed(err.message))
        },
      )
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')))
      req.on('error', (err) => failed(err.message))
      req.end()
    })
  const clients = Array.from({ length: CLIENTS }, async (_, i) => {
    for (let n = i; running; n++) await one(DOWNLOADS[n % DOWNLOADS.length] as Download)
  })
  return {
    async stop() {
      running = false
      await Promise.all(clients)
      agent.destroy()
      return result
    },
  }
}

let linkDownloads = 0
let sessionDownloads = 0

function report(t: Test, what: string, r: LoadResult): void {
  linkDownloads += r.viaLink
  sessionDownloads += r.ok - r.viaLink
  t.comment(`${what}: ${r.ok + r.failures.length} downloads, ${r.ok} ok, ${r.failures.length} failed`)
  t.ok(r.ok > 0, 'downloads went through')
  t.same(r.failures.slice(0, 10), [], 'no download failed')
  if (r.failures.length > 0)
    t.comment(
      nginx
        .errorLog()
        .split('\n')
        .filter((l) => /\[(error|warn)\]/.test(l))
        .slice(-30)
        .join('\n'),
    )
}

t.test('one gateway stopped with SIGTERM under load: no download fails', async (t) => {
  const load = startLoad()
  await sleep(1000)
  const stopped = gateways[1] as GatewayProcess
  const began = Date.now()
  t.equal(await stopped.stop('SIGTERM'), 0, 'the stopped gateway exits 0')
  t.comment(`SIGTERM to exit: ${Date.now() - began} ms`)
  await sleep(1500)
  report(t, 'one stopped', await load.stop())
  gateways[1] = startGatewayProcess(stopped.port, env)
  await gateways[1].ready()
  await nginxForgets()
})

t.test('a rolling restart of all three under load: no download fails', async (t) => {
  const load = startLoad()
  for (let i = 0; i < gateways.length; i++) {
    await sleep(500)
    const old = gateways[i] as GatewayProcess
    t.equal(await old.stop('SIGTERM'), 0, `gateway ${i + 1} exits 0`)
    gateways[i] = startGatewayProcess(old.port, env)
    await gateways[i]?.ready()
    await nginxForgets()
  }
  report(t, 'rolling restart', await load.stop())
})

t.test('nginx went to the next gateway when one could not be reached', async (t) => {
  const log = nginx.errorLog()
  const refused = log.match(/connect\(\) failed \(111: Connection refused\)/g)?.length ?? 0
  const dropped = log.match(/upstream prematurely closed|Connection reset by peer/g)?.length ?? 0
  t.comment(`nginx error log: ${refused} refused connects, ${dropped} kept-alive connections closed under it`)
  t.ok(refused + dropped > 0, 'stopped gateways were tried, and the requests went on to the next one')
})

t.test('every link download was counted exactly once', async (t) => {
  const client = createClient({ url: redis.url })
  await client.connect()
  t.teardown(() => client.close())
  const counted = Number(await client.get(`gw:link:{${link.claims.id}}:count`))
  t.comment(`link downloads: ${linkDownloads} answered, ${counted} counted`)
  t.equal(counted, linkDownloads, 'no decision was retried on another gateway')
  // What each download asked of Redis (docs/scaling.md): the client cache is off in this config.
  const stats = await client.info('commandstats')
  const calls = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
  t.comment(
    `Redis: ${(calls('get') / sessionDownloads).toFixed(3)} GET per session download, ` +
      `${((calls('evalsha') + calls('eval')) / linkDownloads).toFixed(3)} EVALSHA per link download`,
  )
})
