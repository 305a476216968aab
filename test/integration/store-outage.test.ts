// Fail closed: when Redis hangs or is gone, downloads answer 503 and never a file; when it comes
// back, they work again without a restart.
import t from 'tap'
import { rawGet } from '../harness/http.js'
import { SCENARIO_COMMAND_TIMEOUT_MS, type Scenario, startScenario } from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { nginx, files, redis } = scenario
const alice = await scenario.login('alice')
const secret = files['reports/q1.pdf'] as Buffer

async function attempt(cookie?: string) {
  return rawGet(nginx.port, '/download/reports/q1.pdf', cookie ? { cookie } : {}, { timeoutMs: 10_000 })
}

t.test(
  'store outage: a hung Redis (SIGSTOP) gives 503 within the command timeout, never the file',
  async (t) => {
    t.equal((await attempt(alice)).status, 200, 'works before')
    redis.pause()
    try {
      const started = performance.now()
      const res = await attempt(alice)
      const elapsed = performance.now() - started
      t.equal(res.status, 503)
      t.notOk(res.body.includes(secret.subarray(0, 64)))
      t.equal(res.headers['x-accel-redirect'], undefined)
      // The command timeout, plus a second for nginx, the loopback and a busy test machine: far
      // below the 10 s the request itself would allow, or nginx's own 10 s read timeout.
      t.ok(
        elapsed >= SCENARIO_COMMAND_TIMEOUT_MS * 0.9 && elapsed < SCENARIO_COMMAND_TIMEOUT_MS + 1000,
        `503 after the command timeout (${Math.round(elapsed)} ms)`,
      )
    } finally {
      redis.resume()
    }
    // Give node-redis a moment to drain; the next request works again.
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await attempt(alice)).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(status, 200, 'works after')
  },
)

t.test('store outage: the health check says 503 while the store cannot answer', async (t) => {
  redis.pause()
  try {
    const res = await rawGet(nginx.port, '/healthz', {}, { timeoutMs: 10_000 })
    t.equal(res.status, 503)
  } finally {
    redis.resume()
  }
})

t.test('store outage: a stopped Redis gives 503 for every request, never the file', async (t) => {
  await redis.stop()
  const before = scenario.gateway.logs().length
  for (let i = 0; i < 5; i++) {
    const res = await attempt(alice)
    t.equal(res.status, 503)
    t.notOk(res.body.includes(secret.subarray(0, 64)))
  }
  const anonymous = await attempt()
  t.equal(anonymous.status, 401, 'no cookie: no store needed to refuse')
  const lines = scenario.gateway.logs().slice(before)
  t.equal(
    lines.filter((l) => l.code === 'GW_ERR_STORE_UNAVAILABLE' && l.status === 503).length,
    5,
    'each of those refusals logged with its code',
  )
})
