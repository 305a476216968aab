// The built server (dist/, made by the test command) as its own process, with real Redis: SIGHUP
// reloads the rules, the users file and the secrets file; SIGTERM lets a decision in flight finish
// and answer before the process exits 0; the metrics listener is wired.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import { rawGet } from '../harness/http.js'
import { freePort } from '../harness/ports.js'
import { sleep, spawnManaged } from '../harness/process.js'
import { startRedis } from '../harness/redis.js'
import { SCENARIO_ACL, scenarioUsersYaml } from '../harness/scenario.js'

const SECRET = 'signals-secret-signals-secret-0123456789abc'

const redis = await startRedis()
t.teardown(() => redis.stop())
const dir = await mkdtemp(join(tmpdir(), 'gw-signals-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
await mkdir(join(dir, 'acl.d'))
await mkdir(join(dir, 'files'))
await writeFile(join(dir, 'acl.d', '10-test.yaml'), SCENARIO_ACL)
await writeFile(join(dir, 'users.yaml'), await scenarioUsersYaml())
await writeFile(join(dir, 'secrets'), `${SECRET}\n`)
const metricsPort = await freePort()
await writeFile(
  join(dir, 'gateway.yaml'),
  `server:
  log_level: info
delivery:
  mode: x-accel
  files_root: files
session:
  store: redis
  cookie_name: sid
  redis:
    url: ${redis.url}
    connect_timeout_ms: 500
    command_timeout_ms: 20000
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
metrics:
  port: ${metricsPort}
`,
)

// A session of alice's, written as the main app would, and her signed cookie.
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

const port = await freePort()
const server = spawnManaged(
  'env',
  [
    `GATEWAY_CONFIG=${join(dir, 'gateway.yaml')}`,
    `GATEWAY_PORT=${port}`,
    'GATEWAY_HOST=127.0.0.1',
    `GATEWAY_SESSION_SECRETS_FILE=${join(dir, 'secrets')}`,
    'GATEWAY_SESSION_SECRETS=',
    process.execPath,
    'dist/src/server.js',
  ],
  process.cwd(),
)
t.teardown(() => server.stop('SIGKILL'))

// 30 s: a start-up beside another suite that loads both cores (npm test runs two at once) was
// seen to take more than 10.
async function waitFor(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return
    if (server.hasExited()) throw new Error(`server exited while waiting for ${what}:\n${server.output()}`)
    await sleep(50)
  }
  throw new Error(`no ${what} within 30 s:\n${server.output()}`)
}

function lines(): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

await waitFor('/readyz 200', async () => {
  try {
    return (await rawGet(port, '/readyz')).status === 200
  } catch {
    return false
  }
})

t.test('the metrics listener of the server process', async (t) => {
  t.equal((await rawGet(port, '/download/reports/q1.pdf', { cookie })).status, 200)
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  t.match(text, /gateway_decisions_total\{code="GW_ALLOW",rule="reports"\} 1/)
})

t.test('SIGHUP reloads the rules, the users file and the secrets', async (t) => {
  server.child.kill('SIGHUP')
  await waitFor('three reload lines', () => {
    const msgs = lines().map((l) => l.msg)
    return (
      msgs.includes('users file reloaded') &&
      msgs.includes('session secrets reloaded') &&
      lines().some((l) => l.msg === 'ACL rules loaded' && l.reason === 'SIGHUP')
    )
  })
  t.pass('rules, users and secrets reloaded')
  await writeFile(join(dir, 'users.yaml'), 'users: nonsense\n')
  server.child.kill('SIGHUP')
  await waitFor('the refusal line', () =>
    lines().some((l) => l.msg === 'users file refused: the previous users stay'),
  )
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  t.match(text, /gateway_reloads_total\{target="users",result="refused"\} 1/)
  t.match(text, /gateway_reloads_total\{target="users",result="ok"\} 1/)
  t.match(text, /gateway_reloads_total\{target="secrets",result="ok"\} 2/)
})

t.test('SIGTERM: a decision in flight still gets its answer, then the process exits 0', async (t) => {
  // A hung Redis holds the session read (command timeout 20 s) while SIGTERM arrives.
  redis.pause()
  let resumed = false
  t.teardown(() => {
    if (!resumed) redis.resume()
  })
  const inFlight = rawGet(
    port,
    '/download/reports/q1.pdf',
    { cookie, 'x-request-id': 'in-flight' },
    {
      timeoutMs: 15_000,
    },
  )
  await sleep(300)
  server.child.kill('SIGTERM')
  await waitFor('the closing line', () => lines().some((l) => l.msg === 'closing'))
  await sleep(300)
  t.notOk(server.hasExited(), 'still draining while the decision waits for the store')
  await t.rejects(rawGet(port, '/livez', {}, { timeoutMs: 2000 }), 'no new connections once closing')
  redis.resume()
  resumed = true
  const res = await inFlight
  t.equal(res.status, 200, 'the request in flight is answered')
  t.equal(res.headers['x-accel-redirect'], '/_protected/reports/q1.pdf')
  t.equal(await server.exited, 0, 'exit status 0')
  const line = lines().find((l) => l.msg === 'decision' && l.reqId === 'in-flight')
  t.match(line, { code: 'GW_ALLOW', user: 'alice', status: 200 }, 'its decision line was written before exit')
})
