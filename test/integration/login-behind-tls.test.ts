// The built-in login behind a TLS-terminating nginx, as production runs it: nginx speaks https to
// the client and plain HTTP to the gateway, and tells it the client's scheme in X-Forwarded-Proto;
// the gateway believes that only from the addresses in server.trust_proxy. The client is curl
// with a cookie jar (test/harness/curl.ts), which keeps Secure cookies as a browser does.
//
// One gateway (Secure-only cookie, trusting 127.0.0.1) with real Redis, two nginx in front of it
// from the project's template: one with TLS (a certificate made by the test with openssl), one on
// plain HTTP. Cookies ignore ports, so the one jar shows what a browser would send to each. The
// client names the site download.test (connecting to 127.0.0.1): under localhost or 127.0.0.1,
// which clients treat as secure, a Secure cookie would go out over plain HTTP too.
import { createClient } from 'redis'
import t, { type Test } from 'tap'
import { type CurlClient, curlClient } from '../harness/curl.js'
import { startGateway } from '../harness/gateway.js'
import { startNginx } from '../harness/nginx.js'
import { startRedis } from '../harness/redis.js'
import { makeScenarioTree, SCENARIO_ACL, scenarioUsersYaml } from '../harness/scenario.js'
import { makeTestCertificate } from '../harness/tls.js'

const CONFIG = `
server:
  trust_proxy: [127.0.0.1]
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: redis
  cookie_name: sid
  cookie:
    secure: true
  redis:
    url: \${REDIS_URL}
    key_prefix: "sess:"
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`

const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const SITE = 'download.test'
const certificate = await makeTestCertificate([SITE])
t.teardown(() => certificate.cleanup())
const redis = await startRedis()
t.teardown(() => redis.stop())
const gateway = await startGateway({
  configYaml: CONFIG,
  aclFiles: { '10-test.yaml': SCENARIO_ACL },
  usersYaml: await scenarioUsersYaml(),
  filesRoot: tree.root,
  redisUrl: redis.url,
})
t.teardown(() => gateway.stop())
const tls = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root, tls: certificate })
t.teardown(() => tls.stop())
const plain = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
t.teardown(() => plain.stop())
const store = createClient({ url: redis.url })
await store.connect()
t.teardown(() => store.close())

const httpsSite = `https://${SITE}:${tls.port}`
const httpSite = `http://${SITE}:${plain.port}`
const sessionKeys = () => store.keys('sess:*')
const ALICE = { username: 'alice', password: 'pw-alice' }
const OWN_FILE = '/download/home/alice/own.txt'

async function browser(t: Test): Promise<CurlClient> {
  const client = await curlClient({ caFile: certificate.certificate, loopbackNames: [SITE] })
  t.teardown(() => client.cleanup())
  return client
}

/** The gateway's decision lines for /login so far. */
function loginDecisions(): Record<string, unknown>[] {
  return gateway.logs().filter((l) => l.code !== undefined && String(l.code).includes('LOGIN'))
}

t.test('over https: login sets a Secure cookie, downloads work, logout ends the session', async (t) => {
  const client = await browser(t)
  t.same(await sessionKeys(), [], 'no session yet')

  const login = await client.request(`${httpsSite}/login`, { form: ALICE })
  t.equal(login.status, 200, login.body)
  t.same(JSON.parse(login.body), { user: 'alice', groups: ['finance'] })
  const setCookie = login.headers['set-cookie'] ?? []
  t.equal(setCookie.length, 1)
  t.match(setCookie[0], /^sid=[^;]+;/)
  t.match(setCookie[0], /; Secure/)
  t.match(setCookie[0], /; HttpOnly/)
  const [jarred] = await client.cookies()
  t.equal(jarred?.name, 'sid')
  t.equal(jarred?.secure, true, 'the jar keeps it as Secure-only')
  const keys = await sessionKeys()
  t.equal(keys.length, 1, 'one session stored')
  const stored = JSON.parse((await store.get(keys[0] as string)) ?? 'null')
  t.equal(stored?.user?.id, 'alice', 'holding the user')

  const download = await client.request(`${httpsSite}${OWN_FILE}`)
  t.equal(download.status, 200)
  t.equal(download.body, 'alice only\n')

  // The same jar over plain HTTP: the client withholds the Secure cookie...
  t.equal((await client.request(`${httpSite}${OWN_FILE}`)).status, 401, 'not sent over http')
  // ...which is the only reason it is refused there: the session itself is valid.
  const cookiePair = `sid=${jarred?.value}`
  const withCookie = await client.request(`${httpSite}${OWN_FILE}`, { headers: { cookie: cookiePair } })
  t.equal(withCookie.status, 200, 'the same session sent by hand works')

  const logout = await client.request(`${httpsSite}/logout`, { method: 'POST' })
  t.equal(logout.status, 204)
  const cleared = (logout.headers['set-cookie'] ?? [])[0]
  t.match(cleared, /^sid=;.*Expires=Thu, 01 Jan 1970/)
  t.match(cleared, /; Secure/, 'cleared with the attributes it was set with')
  t.same(await sessionKeys(), [], 'the session is gone from the store')
  t.same(await client.cookies(), [], 'and from the jar')

  t.equal((await client.request(`${httpsSite}${OWN_FILE}`)).status, 401, 'the next download needs a login')
  const replayed = await client.request(`${httpsSite}${OWN_FILE}`, { headers: { cookie: cookiePair } })
  t.equal(replayed.status, 401, 'and the old cookie replayed is worth nothing')
})

t.test('over plain http: the Secure-cookie login is refused and stores nothing', async (t) => {
  const client = await browser(t)
  const before = loginDecisions().length
  const login = await client.request(`${httpSite}/login`, { form: ALICE })
  t.equal(login.status, 403)
  t.same(JSON.parse(login.body), {
    statusCode: 403,
    code: 'GW_ERR_LOGIN_NEEDS_HTTPS',
    message: 'Login needs HTTPS: the session cookie is Secure-only and this request came over plain HTTP',
  })
  t.equal(login.headers['set-cookie'], undefined, 'no cookie')
  t.same(await client.cookies(), [])
  t.same(await sessionKeys(), [], 'no session in the store')
  const decision = loginDecisions().slice(before)
  t.match(decision, [{ code: 'GW_ERR_LOGIN_NEEDS_HTTPS', status: 403, detail: 'plain-http' }])
  t.equal((await client.request(`${httpSite}${OWN_FILE}`)).status, 401, 'nobody is logged in')
})

t.test('over plain http: a client claiming https itself is not believed', async (t) => {
  const client = await browser(t)
  // Through nginx: the template replaces the client's X-Forwarded-Proto with its own $scheme.
  const viaNginx = await client.request(`${httpSite}/login`, {
    form: ALICE,
    headers: { 'x-forwarded-proto': 'https' },
  })
  t.equal(viaNginx.status, 403)
  // Straight to the gateway from an address that trust_proxy does not name (loopback has all of
  // 127.0.0.0/8; nginx connects from 127.0.0.1).
  const before = loginDecisions().length
  const direct = await client.request(`${gateway.baseUrl}/login`, {
    form: ALICE,
    from: '127.0.0.2',
    headers: { 'x-forwarded-proto': 'https' },
  })
  t.equal(direct.status, 403)
  t.match(loginDecisions().slice(before), [
    { code: 'GW_ERR_LOGIN_NEEDS_HTTPS', detail: 'untrusted-x-forwarded-proto' },
  ])
  t.same(await sessionKeys(), [], 'no session in the store')
  t.same(await client.cookies(), [])
})
