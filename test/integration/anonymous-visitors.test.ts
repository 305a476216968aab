// The gateway never creates a session for an anonymous visitor: no Set-Cookie on downloads or
// refusals, and nothing written to the shared store until a login succeeds.
import { createClient } from 'redis'
import t from 'tap'
import { rawGet } from '../harness/http.js'
import { type Scenario, startScenario } from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const redis = createClient({ url: scenario.redis.url })
await redis.connect()
t.teardown(() => redis.close())
const base = scenario.nginx.baseUrl
// Sessions only: a failed login also counts in the rate limit's keys (gw:rl:), which are no session.
const sessionCount = async () => (await redis.keys('sess:*')).length

t.test('anonymous visitors: downloads and refusals set no cookie and write no session', async (t) => {
  const before = await sessionCount()
  // Sent raw: fetch would resolve `a/../b` to `b` before the request left, and the refusal of a
  // traversal would never be asked for.
  for (const path of [
    '/download/public/hello.txt',
    '/download/reports/q1.pdf',
    '/download/nope/x',
    '/download/a/../b',
  ]) {
    const res = await rawGet(scenario.nginx.port, path)
    t.equal(res.headers['set-cookie'], undefined, path)
  }
  const res = await fetch(`${base}/download/reports/q1.pdf`, { headers: { cookie: 'sid=forged.signature' } })
  t.equal(res.status, 401)
  t.equal(res.headers.get('set-cookie'), null, 'a forged cookie is not replaced by a new session')
  t.equal(await sessionCount(), before, 'nothing written')
})

t.test('anonymous visitors: a failed login or a logout without a session writes nothing', async (t) => {
  const before = await sessionCount()
  const bad = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'wrong' }),
  })
  t.equal(bad.status, 401)
  t.equal(bad.headers.get('set-cookie'), null)
  const unknown = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=nobody&password=whatever',
  })
  t.equal(unknown.status, 401, 'an unknown user is refused like a wrong password')
  const malformed = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  t.equal(malformed.status, 400)
  const logout = await fetch(`${base}/logout`, { method: 'POST' })
  t.equal(logout.status, 204)
  t.equal(await sessionCount(), before, 'nothing written')
})

t.test('anonymous visitors: a successful login writes exactly one session', async (t) => {
  const before = await sessionCount()
  await scenario.login('bob')
  t.equal(await sessionCount(), before + 1)
})

t.test('login: a form login with a same-site return_to redirects there, never elsewhere', async (t) => {
  const post = (returnTo: string) =>
    fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=bob&password=pw-bob&return_to=${encodeURIComponent(returnTo)}`,
    })
  const same = await post('/download/home/bob/own.txt')
  t.equal(same.status, 303)
  t.equal(same.headers.get('location'), '/download/home/bob/own.txt')
  for (const evil of [
    '//evil.example/x',
    'https://evil.example/',
    '/\\evil.example',
    'javascript:alert(1)',
  ]) {
    const res = await post(evil)
    t.equal(res.status, 200, evil)
    t.equal(res.headers.get('location'), null, evil)
  }
})
