// Metrics scraped from their own listener during a run through real nginx and Redis: a known mix
// of allowed and refused downloads shows up with the right counts by code and rule id, the store
// and the rules report, and no label value is a path or a user id.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { type RunningGateway, startGateway } from '../harness/gateway.js'
import { rawGet } from '../harness/http.js'
import { type NginxServer, startNginx } from '../harness/nginx.js'
import { startRedis } from '../harness/redis.js'
import {
  loginAt,
  makeScenarioTree,
  SCENARIO_ACL,
  scenarioUsersYaml,
  withClientCache,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const redis = await startRedis()
t.teardown(() => redis.stop())
const gateway: RunningGateway = await startGateway({
  configYaml: withClientCache(X_ACCEL_REDIS_CONFIG, true),
  aclFiles: { '10-test.yaml': SCENARIO_ACL },
  usersYaml: await scenarioUsersYaml(),
  filesRoot: tree.root,
  redisUrl: redis.url,
  metrics: true,
})
t.teardown(() => gateway.stop())
const nginx: NginxServer = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
t.teardown(() => nginx.stop())
const metricsPort = gateway.metrics?.server.port as number

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

async function scrape(): Promise<{ samples: Sample[]; text: string; contentType: string }> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  const text = await res.text()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return { samples, text, contentType: res.headers.get('content-type') ?? '' }
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  return found?.value ?? 0
}

async function download(path: string, cookie?: string) {
  return rawGet(nginx.port, path, cookie ? { cookie } : {}, { timeoutMs: 10_000 })
}

t.test('a known mix of downloads is counted by code and rule id', async (t) => {
  const alice = await loginAt(nginx.baseUrl, 'alice')
  const bob = await loginAt(nginx.baseUrl, 'bob')
  const before = (await scrape()).samples
  const mix: [string, string | undefined, number][] = [
    ['/download/reports/q1.pdf', alice, 200],
    ['/download/reports/q1.pdf', alice, 200],
    ['/download/reports/q1.pdf', alice, 200],
    ['/download/reports/q1.pdf', bob, 403],
    ['/download/reports/q1.pdf', bob, 403],
    ['/download/public/hello.txt', undefined, 200],
    ['/download/public/hello.txt', undefined, 200],
    ['/download/public/hello.txt', undefined, 200],
    ['/download/public/hello.txt', undefined, 200],
    ['/download/hidden/secret.txt', alice, 404],
    ['/download/home/alice/own.txt', undefined, 401],
    ['/download/a/%2e%2e/b', alice, 400],
  ]
  for (const [path, cookie, status] of mix) t.equal((await download(path, cookie)).status, status, path)
  const after = (await scrape()).samples
  const delta = (labels: Record<string, string>) =>
    value(after, 'gateway_decisions_total', labels) - value(before, 'gateway_decisions_total', labels)
  t.equal(delta({ code: 'GW_ALLOW', rule: 'reports' }), 3, 'alice: allowed by reports')
  t.equal(delta({ code: 'GW_ERR_DENIED', rule: '' }), 2, 'bob: no rule for him, denied by the default')
  t.equal(delta({ code: 'GW_ALLOW', rule: 'public' }), 4, 'anyone: allowed by public')
  t.equal(delta({ code: 'GW_ERR_HIDDEN', rule: 'hidden' }), 1)
  t.equal(delta({ code: 'GW_ERR_NO_SESSION', rule: '' }), 1, 'anonymous on a home: 401')
  t.equal(delta({ code: 'GW_ERR_BAD_PATH', rule: '' }), 1, 'a bad path: no rule decided')

  // The counts agree with the decision lines, line for line.
  const lines = gateway.logs().filter((l) => l.msg === 'decision')
  const total = after.filter((s) => s.name === 'gateway_decisions_total').reduce((sum, s) => sum + s.value, 0)
  t.equal(total, lines.length, 'one count per decision line')
})

t.test('no label value is a path or a user id', async (t) => {
  const { samples, contentType } = await scrape()
  t.match(contentType, /^text\/plain/)
  const gatewaySamples = samples.filter((s) => s.name.startsWith('gateway_'))
  t.ok(gatewaySamples.length > 5)
  for (const s of gatewaySamples) {
    for (const [k, v] of Object.entries(s.labels)) {
      t.notOk(v.includes('/'), `${s.name} ${k}="${v}": no path`)
      t.notOk(['alice', 'bob'].includes(v), `${s.name} ${k}="${v}": no user id`)
      t.notOk(v.includes('@'), `${s.name} ${k}="${v}": a rule id, not its file and line`)
    }
  }
  const labelNames = new Set(gatewaySamples.flatMap((s) => Object.keys(s.labels)))
  t.same(
    [...labelNames].sort(),
    ['code', 'le', 'op', 'result', 'rule', 'target'].filter((n) => labelNames.has(n)),
  )
  t.notOk(labelNames.has('path') || labelNames.has('user'))
})

t.test('the store, the session cache and the default process metrics report', async (t) => {
  const alice = await loginAt(nginx.baseUrl, 'alice')
  // The cache fills once Redis has confirmed tracking; repeated reads of one session hit it, while
  // the heartbeat is fresh (at most 250 ms old), which a loaded machine can hold up: tries for a
  // while, in bursts (the counting itself is checked exactly in test/unit/tracked-cache.test.ts).
  let hits = 0
  const deadline = Date.now() + 20_000
  while (hits === 0 && Date.now() < deadline) {
    await Promise.all([1, 2, 3, 4].map(() => download('/download/reports/q1.pdf', alice)))
    hits = value((await scrape()).samples, 'gateway_session_cache_hits_total')
  }
  t.ok(hits > 0, `session cache hits counted (${hits})`)
  const { samples } = await scrape()
  t.ok(value(samples, 'gateway_session_store_duration_seconds_count', { op: 'get' }) > 0, 'store reads timed')
  t.ok(value(samples, 'gateway_acl_rules') > 0, 'rule count')
  t.ok(value(samples, 'process_cpu_user_seconds_total') > 0, 'default process metrics')
  t.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'))

  // A session never read (so not cached) while Redis hangs: the read times out.
  const fresh = await loginAt(nginx.baseUrl, 'alice')
  redis.pause()
  try {
    t.equal((await download('/download/reports/q1.pdf', fresh)).status, 503)
  } finally {
    redis.resume()
  }
  const errors = value((await scrape()).samples, 'gateway_session_store_errors_total', { op: 'get' })
  t.ok(errors >= 1, `a store timeout is an error (${errors})`)
})

t.test('rule reloads are counted, ok and refused', async (t) => {
  await gateway.acl.reload('test')
  await writeFile(join(gateway.dir, 'acl.d', '20-broken.yaml'), 'rules: [ { id: x } ]\n')
  await gateway.acl.reload('test')
  const { samples } = await scrape()
  t.equal(value(samples, 'gateway_reloads_total', { target: 'rules', result: 'ok' }), 1)
  t.equal(value(samples, 'gateway_reloads_total', { target: 'rules', result: 'refused' }), 1)
})

t.test('the metrics listener answers /metrics only, and nginx does not expose it', async (t) => {
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/`)).status, 404)
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 405)
  const viaNginx = await rawGet(nginx.port, '/metrics')
  t.not(viaNginx.status, 200, 'nginx has no route to the metrics')
  t.notOk(viaNginx.body.toString().includes('gateway_decisions_total'))
})
