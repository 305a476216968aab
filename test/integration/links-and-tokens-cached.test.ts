// Share links and access tokens with the client cache on (session.redis.client_cache): token
// records and link revocation markers are answered from memory, and must stay exact. Revocations
// are written by the CLI, through a Redis connection of its own, so the gateway learns of them only
// through Redis' invalidation pushes; a stopped Redis must still end in 503, never the file.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { main as cli } from '../../src/cli.js'
import type { RedisCredentialStore } from '../../src/credentials/redis-credential-store.js'
import {
  SCENARIO_COMMAND_TIMEOUT_MS,
  type Scenario,
  startScenario,
  withClientCache,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const KEY = `k1:${'1'.repeat(40)}`
const ADMIN_TOKEN = 'admin-token-admin-token-admin-token-0123'
const ENV = { GATEWAY_LINK_KEYS: KEY, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN }
const CONFIG = `${withClientCache(X_ACCEL_REDIS_CONFIG, true)}links:\n  max_ttl: 7d\nadmin:\n  port: 0\n`

const scenario: Scenario = await startScenario(CONFIG, { env: ENV })
t.teardown(() => scenario.stop())
const { nginx, gateway, files } = scenario
const store = gateway.credentials.store as RedisCredentialStore
const secret = files['reports/q1.pdf'] as Buffer
const cliEnv = { ...ENV, GATEWAY_CONFIG: join(gateway.dir, 'gateway.yaml') }

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${nginx.baseUrl}${path}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  let code: string | undefined
  if (res.status !== 200) code = (JSON.parse(body.toString()) as { code: string }).code
  return { status: res.status, headers: res.headers, body, code }
}

/**
 * Runs the command line in this process, with its own Redis connection; its first line as JSON.
 * Ids go after `--`: a link id is base64url and may start with `-`.
 */
async function command(args: string[]): Promise<Record<string, string>> {
  const out: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
  const code = await cli(args, io, cliEnv)
  if (code !== 0) throw new Error(`cli ${args.join(' ')}: ${out.join('\n')}`)
  return out[0]?.startsWith('{') ? (JSON.parse(out[0]) as Record<string, string>) : {}
}

const newLink = (extra: string[] = []) =>
  command(['link', 'create', '--path', '/reports/q1.pdf', '--ttl', '1h', ...extra])
const newToken = () => command(['token', 'create', '--user', 'alice', '--group', 'finance', '--ttl', '1h'])
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The cache answers only once Redis confirmed tracking and a heartbeat came back. */
async function cacheHolds(t: Test, download: () => Promise<{ status: number }>) {
  const before = store.cachedEntries
  let status = 0
  for (let i = 0; i < 50 && store.cachedEntries <= before; i++) {
    status = (await download()).status
    if (store.cachedEntries <= before) await new Promise((r) => setTimeout(r, 50))
  }
  t.equal(status, 200)
  t.ok(store.cachedEntries > before, 'the answer is held in memory')
  t.equal((await download()).status, 200, 'and given from there')
}

t.test('a link revoked by another client is refused on the very next download', async (t) => {
  for (let round = 0; round < 10; round++) {
    const link = await newLink()
    await cacheHolds(t, () => get(link.url as string))
    await command(['link', 'revoke', '--', link.id as string])
    t.match(await get(link.url as string), { status: 410, code: 'GW_ERR_LINK_REVOKED' }, `round ${round + 1}`)
  }
})

t.test('a token revoked by another client is refused on the very next download', async (t) => {
  for (let round = 0; round < 10; round++) {
    const made = await newToken()
    const download = () => get('/download/reports/q1.pdf', bearer(made.token as string))
    await cacheHolds(t, download)
    await command(['token', 'revoke', '--', made.id as string])
    t.match(await download(), { status: 401, code: 'GW_ERR_TOKEN_REVOKED' }, `round ${round + 1}`)
  }
})

t.test('a counted link is never answered from memory: exact count', async (t) => {
  const link = await newLink(['--max-downloads', '3'])
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await get(link.url as string)).status)
  t.same(statuses, [200, 200, 200, 410, 410, 410])
})

t.test('a Redis that stops answering: 503 once the cache may no longer answer, never the file', async (t) => {
  const link = await newLink()
  const made = await newToken()
  const downloads = [
    () => get(link.url as string),
    () => get('/download/reports/q1.pdf', bearer(made.token as string)),
  ]
  for (const download of downloads) await cacheHolds(t, download)
  scenario.redis.pause()
  try {
    // Nothing can be revoked while Redis is stopped; the cache stops answering once the heartbeat
    // has been silent for its bound (at most 250 ms), and from then on every read times out.
    await new Promise((r) => setTimeout(r, 600))
    for (const [i, download] of downloads.entries()) {
      const started = performance.now()
      const res = await download()
      const elapsed = performance.now() - started
      t.match(res, { status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' }, `download ${i + 1}: 503`)
      t.notOk(res.body.includes(secret.subarray(0, 64)), 'not the file')
      t.equal(res.headers.get('x-accel-redirect'), null)
      t.ok(
        elapsed < SCENARIO_COMMAND_TIMEOUT_MS + 1000,
        `within the command timeout (${Math.round(elapsed)} ms)`,
      )
    }
    t.equal(store.cachedEntries, 0, 'the cache forgot everything')
  } finally {
    scenario.redis.resume()
  }
  for (const download of downloads) {
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await download()).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(status, 200, 'works again once Redis answers')
  }
})
