// The login's Secure cookie against the client's scheme, for each cookie.secure setting and for
// trusted and untrusted peers, on the real app (Fastify's inject sets the peer address). The same
// through real nginx with TLS: test/integration/login-behind-tls.test.ts.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import type { SessionData } from '../../src/session/session-store.js'
import { makeFileTree } from '../harness/files.js'
import { prepareGateway } from '../harness/gateway.js'
import { scenarioUsersYaml } from '../harness/scenario.js'

const tree = await makeFileTree({ 'home/alice/own.txt': 'alice only\n' })
t.teardown(() => tree.cleanup())
const usersYaml = await scenarioUsersYaml()

/** The embedded store, counting what is written to it. */
class WatchedStore extends MemorySessionStore {
  writes = 0
  override async set(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    this.writes++
    return super.set(id, data, ttlSeconds)
  }
}

async function appWith(t: Test, secure: string, trustProxy = '[127.0.0.1]') {
  const prepared = await prepareGateway({
    configYaml: `
server:
  trust_proxy: ${trustProxy}
delivery:
  mode: direct
  files_root: \${FILES_ROOT}
session:
  store: memory
  cookie_name: sid
  cookie:
    secure: ${secure}
    same_site: none
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`,
    aclFiles: { '10.yaml': 'rules:\n  - id: homes\n    path: /home/{user}/**\n    allow: authenticated\n' },
    usersYaml,
    filesRoot: tree.root,
  })
  const store = new WatchedStore()
  const app: FastifyInstance = await prepared.build(store)
  t.teardown(async () => {
    await app.close()
    await store.close()
    await prepared.close()
  })
  const login = (headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
    app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: 'username=alice&password=pw-alice',
    })
  const decisions = () => prepared.logs().filter((l) => typeof l.code === 'string')
  return { app, store, login, decisions }
}

const HTTPS = { 'x-forwarded-proto': 'https' }

t.test('secure: true over https through a trusted proxy sets a Secure cookie', async (t) => {
  const { app, store, login } = await appWith(t, 'true')
  const res = await login(HTTPS)
  t.equal(res.statusCode, 200)
  const setCookie = String(res.headers['set-cookie'])
  t.match(setCookie, /^sid=.*; Secure/)
  t.match(setCookie, /SameSite=None/)
  t.ok(store.writes > 0, 'the session is stored')
  const cookie = setCookie.split(';')[0] as string
  const download = await app.inject({ url: '/download/home/alice/own.txt', headers: { cookie } })
  t.equal(download.statusCode, 200)
  const logout = await app.inject({
    method: 'POST',
    url: '/logout',
    remoteAddress: '127.0.0.1',
    headers: { cookie, ...HTTPS },
  })
  t.equal(logout.statusCode, 204)
  t.match(String(logout.headers['set-cookie']), /^sid=;.*; HttpOnly; Secure; SameSite=None/)
  t.equal((await app.inject({ url: '/download/home/alice/own.txt', headers: { cookie } })).statusCode, 401)
})

t.test('secure: true over plain http is refused before anything is stored', async (t) => {
  const { store, login, decisions } = await appWith(t, 'true')
  const plain = await login()
  t.equal(plain.statusCode, 403)
  t.equal(plain.json().code, 'GW_ERR_LOGIN_NEEDS_HTTPS')
  t.equal(plain.headers['set-cookie'], undefined)
  const fromNginx = await login({ 'x-forwarded-proto': 'http' })
  t.equal(fromNginx.statusCode, 403)
  t.equal(store.writes, 0, 'no session written')
  t.match(
    decisions().map((d) => d.detail),
    ['plain-http', 'plain-http'],
  )
})

t.test('secure: true refuses a claim of https from a peer trust_proxy does not name', async (t) => {
  const { store, login, decisions } = await appWith(t, 'true')
  const res = await login(HTTPS, '10.1.2.3')
  t.equal(res.statusCode, 403)
  t.equal(store.writes, 0)
  t.match(decisions(), [{ code: 'GW_ERR_LOGIN_NEEDS_HTTPS', detail: 'untrusted-x-forwarded-proto' }])
})

t.test('secure: true with trust_proxy false never believes the header', async (t) => {
  const { store, login } = await appWith(t, 'true', 'false')
  t.equal((await login(HTTPS)).statusCode, 403)
  t.equal(store.writes, 0)
})

t.test('secure: auto follows the scheme', async (t) => {
  const { login } = await appWith(t, 'auto')
  const overHttps = await login(HTTPS)
  t.equal(overHttps.statusCode, 200)
  t.match(String(overHttps.headers['set-cookie']), /; Secure/)
  const overHttp = await login()
  t.equal(overHttp.statusCode, 200)
  const plainCookie = String(overHttp.headers['set-cookie'])
  t.notMatch(plainCookie, /Secure/)
  // SameSite=None needs Secure; @fastify/session falls back to Lax and so must the logout.
  t.match(plainCookie, /SameSite=Lax/)
  const untrusted = await login(HTTPS, '10.1.2.3')
  t.notMatch(String(untrusted.headers['set-cookie']), /Secure/, 'an untrusted claim is plain http')
})

t.test('secure: auto logout over plain http clears the cookie it set there', async (t) => {
  const { app, login } = await appWith(t, 'auto')
  const cookie = String((await login()).headers['set-cookie']).split(';')[0] as string
  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie } })
  t.equal(logout.statusCode, 204)
  const cleared = String(logout.headers['set-cookie'])
  t.match(cleared, /^sid=;/)
  t.notMatch(cleared, /Secure/)
  t.match(cleared, /SameSite=Lax/)
})

t.test('secure: false never sets Secure', async (t) => {
  const { login } = await appWith(t, 'false')
  const res = await login(HTTPS)
  t.equal(res.statusCode, 200)
  t.notMatch(String(res.headers['set-cookie']), /Secure/)
})
