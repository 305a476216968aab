// The probes through real Redis and nginx: /livez stays 200 whatever the store does, /readyz (and
// /healthz, its old name) goes unready while Redis cannot answer and ready again once it can, and
// the canary notices a broken nginx internal location, which no ping could.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startGateway } from '../harness/gateway.js'
import { rawGet } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import {
  SCENARIO_ACL,
  type Scenario,
  scenarioUsersYaml,
  startScenario,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { nginx, redis, gateway } = scenario
const usersYaml = await scenarioUsersYaml()

async function probe(port: number, path: string) {
  const res = await rawGet(
    port,
    path,
    { 'x-request-id': `probe-${path}-${Math.random()}` },
    { timeoutMs: 10_000 },
  )
  return { ...res, json: JSON.parse(res.body.toString()) as Record<string, unknown> }
}

/** Polls until `path` answers `status` (the store reconnects in the background). */
async function eventually(port: number, path: string, status: number) {
  let last = await probe(port, path)
  for (let i = 0; i < 100 && last.status !== status; i++) {
    await new Promise((r) => setTimeout(r, 100))
    last = await probe(port, path)
  }
  return last
}

t.test('all up: /livez and /readyz answer 200, with a line each, no X-Accel header', async (t) => {
  const live = await probe(gateway.port, '/livez')
  t.equal(live.status, 200)
  t.same(live.json, { status: 'ok' })
  const ready = await probe(gateway.port, '/readyz')
  t.equal(ready.status, 200)
  t.match(ready.json, { status: 'ok', checks: { rules: 'ok', session: 'ok', canary: 'off' } })
  t.ok((ready.json.rules as number) > 0, 'the rule count')
  for (const res of [live, ready]) {
    t.equal(res.headers['cache-control'], 'no-store')
    t.notOk(Object.keys(res.headers).some((h) => h.startsWith('x-accel')))
  }
  const healthz = await probe(nginx.port, '/healthz')
  t.equal(healthz.status, 200, '/healthz through nginx answers as /readyz')
  const codes = gateway
    .logs()
    .filter((l) => l.msg === 'decision')
    .map((l) => l.code)
  t.ok(codes.includes('GW_LIVE') && codes.includes('GW_READY') && codes.includes('GW_HEALTHY'))
})

t.test('a hung Redis: /readyz and /healthz 503 naming the session check, /livez 200', async (t) => {
  redis.pause()
  try {
    const ready = await probe(gateway.port, '/readyz')
    t.equal(ready.status, 503)
    t.equal(ready.headers['retry-after'], '1')
    t.same(ready.json, { statusCode: 503, code: 'GW_ERR_NOT_READY', message: 'Not ready: session' })
    const line = gateway.logs().findLast((l) => l.msg === 'decision' && l.code === 'GW_ERR_NOT_READY')
    t.match(line?.detail, /^session: session store unavailable/, 'the line says why')
    const healthz = await probe(nginx.port, '/healthz')
    t.equal(healthz.status, 503, '/healthz through nginx')
    const live = await probe(gateway.port, '/livez')
    t.equal(live.status, 200, 'still live: a Redis blip must not restart the gateway')
  } finally {
    redis.resume()
  }
  const back = await eventually(gateway.port, '/readyz', 200)
  t.equal(back.status, 200, 'ready again once Redis answers')
})

t.test('the canary: ready through a working nginx, unready through a broken internal location', async (t) => {
  // A second nginx in front of the same gateway whose internal location points at a folder that
  // is not there: the gateway allows, nginx cannot serve.
  const missing = await mkdtemp(join(tmpdir(), 'gw-missing-'))
  await rm(missing, { recursive: true })
  const broken = await startNginx({ gatewayPort: gateway.port, filesRoot: missing })
  t.teardown(() => broken.stop())
  const withCanary = (base: string) =>
    startGateway({
      configYaml: `${X_ACCEL_REDIS_CONFIG}ops:\n  canary:\n    url: ${base}/download/public/hello.txt\n    timeout_ms: 5000\n`,
      aclFiles: { '10-test.yaml': SCENARIO_ACL },
      usersYaml,
      filesRoot: scenario.filesRoot,
      redisUrl: redis.url,
    })
  const good = await withCanary(nginx.baseUrl)
  t.teardown(() => good.stop())
  const bad = await withCanary(broken.baseUrl)
  t.teardown(() => bad.stop())

  const ok = await probe(good.port, '/readyz')
  t.equal(ok.status, 200)
  t.match(ok.json, { checks: { canary: 'ok', session: 'ok', rules: 'ok' } })

  const refused = await probe(bad.port, '/readyz')
  t.equal(refused.status, 503)
  t.equal(refused.json.message, 'Not ready: canary')
  const line = bad.logs().findLast((l) => l.msg === 'decision' && l.code === 'GW_ERR_NOT_READY')
  t.equal(line?.detail, 'canary: status 404, expected 200')
  t.match(broken.errorLog(), /No such file or directory/, "nginx's own word for it")
  t.equal((await probe(bad.port, '/livez')).status, 200, 'live all the same')
})

t.test('a stopped Redis: unready, still live', async (t) => {
  await redis.stop()
  const ready = await probe(gateway.port, '/readyz')
  t.equal(ready.status, 503)
  t.equal(ready.json.message, 'Not ready: session')
  t.equal((await probe(gateway.port, '/livez')).status, 200)
})
