// The app's own handlers, through Fastify's inject: the not-found handler (unknown routes and
// methods), the error handler (store outage, Fastify's client errors, bugs) and /healthz. Each
// refusal has its code in the body and in the decision line, and none carries an X-Accel header.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { type SessionData, StoreUnavailableError } from '../../src/session/session-store.js'
import { makeFileTree } from '../harness/files.js'
import { type PreparedGateway, prepareGateway } from '../harness/gateway.js'
import { SCENARIO_ACL, scenarioUsersYaml } from '../harness/scenario.js'

const CONFIG = `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
  internal_prefix: _protected
session:
  store: memory
  cookie_name: sid
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`

/** A memory store whose reads and pings fail as `failWith` says. */
class FailingStore extends MemorySessionStore {
  constructor(private readonly failWith: () => Error) {
    super()
  }
  override get(_id: string): Promise<SessionData | null> {
    return Promise.reject(this.failWith())
  }
  override ping(): Promise<void> {
    return Promise.reject(this.failWith())
  }
}

let prepared: PreparedGateway
t.before(async () => {
  const tree = await makeFileTree({ 'public/a.txt': 'a' })
  prepared = await prepareGateway({
    configYaml: CONFIG,
    aclFiles: { '10-test.yaml': SCENARIO_ACL },
    usersYaml: await scenarioUsersYaml(),
    filesRoot: tree.root,
  })
  t.teardown(async () => {
    await prepared.close()
    await tree.cleanup()
  })
})

async function appOver(t: Test, store = new MemorySessionStore()): Promise<FastifyInstance> {
  const app = await prepared.build(store)
  t.teardown(() => app.close())
  return app
}

/** The decision line of the request with this id. */
function lineOf(reqId: string): Record<string, unknown> | undefined {
  return prepared.logs().find((l) => l.msg === 'decision' && l.reqId === reqId)
}

interface Injected {
  statusCode: number
  headers: Record<string, unknown>
  body: string
}

function checkRefusal(t: Test, res: Injected, status: number, code: string): void {
  t.equal(res.statusCode, status, 'status')
  const body = JSON.parse(res.body) as Record<string, unknown>
  t.equal(body.statusCode, status, 'body: status')
  t.equal(body.code, code, 'body: code')
  t.type(body.message, 'string', 'body: message')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notOk(
    Object.keys(res.headers).some((h) => h.startsWith('x-accel')),
    'no X-Accel header',
  )
}

/** Logs alice in through the app's own login and returns her cookie pair. */
async function loginAlice(t: Test, app: FastifyInstance): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    payload: { username: 'alice', password: 'pw-alice' },
  })
  t.equal(res.statusCode, 200, 'alice logs in')
  const cookie = String(res.headers['set-cookie']).split(';')[0] as string
  t.match(cookie, /^sid=/)
  return cookie
}

let seq = 0
function reqId(): string {
  return `handlers-${++seq}`
}

t.test('an unknown route is 404 GW_ERR_NO_ROUTE, with its line', async (t) => {
  const app = await appOver(t)
  const id = reqId()
  const res = await app.inject({ method: 'GET', url: '/nothing-here', headers: { 'x-request-id': id } })
  checkRefusal(t, res, 404, 'GW_ERR_NO_ROUTE')
  t.equal(lineOf(id)?.code, 'GW_ERR_NO_ROUTE')
})

t.test(
  'a method Fastify routes, and one it does not, are 405 with Allow under the download prefix',
  async (t) => {
    const app = await appOver(t)
    for (const method of ['DELETE', 'PROPFIND'] as const) {
      const id = reqId()
      const res = await app.inject({ method, url: '/download/public/a.txt', headers: { 'x-request-id': id } })
      checkRefusal(t, res, 405, 'GW_ERR_METHOD')
      t.equal(res.headers.allow, 'GET, HEAD', `${method}: Allow`)
      t.equal(lineOf(id)?.code, 'GW_ERR_METHOD', `${method}: line`)
    }
  },
)

t.test(
  "a body Fastify cannot parse is 400 GW_ERR_BAD_REQUEST, Fastify's code in the line's detail",
  async (t) => {
    const app = await appOver(t)
    const id = reqId()
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      payload: '{"username": ',
    })
    checkRefusal(t, res, 400, 'GW_ERR_BAD_REQUEST')
    const line = lineOf(id)
    t.equal(line?.code, 'GW_ERR_BAD_REQUEST')
    t.match(line?.detail, /^FST_ERR_/)
  },
)

t.test('a store that cannot answer is 503 with Retry-After, on downloads and on /healthz', async (t) => {
  const app = await appOver(t, new FailingStore(() => new StoreUnavailableError(new Error('timeout'))))
  const cookie = await loginAlice(t, app)
  const id = reqId()
  const res = await app.inject({
    method: 'GET',
    url: '/download/home/alice/x.txt',
    headers: { cookie, 'x-request-id': id },
  })
  checkRefusal(t, res, 503, 'GW_ERR_STORE_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '1')
  t.equal(lineOf(id)?.code, 'GW_ERR_STORE_UNAVAILABLE')
  t.equal(lineOf(id)?.path, '/home/alice/x.txt', 'the line names the path')
  // /healthz is /readyz under its old name: the store is one of its checks.
  for (const url of ['/healthz', '/readyz']) {
    const id = reqId()
    const health = await app.inject({ method: 'GET', url, headers: { 'x-request-id': id } })
    checkRefusal(t, health, 503, 'GW_ERR_NOT_READY')
    t.equal(JSON.parse(health.body).message, 'Not ready: session', `${url}: names the failed check`)
    t.equal(health.headers['retry-after'], '1')
    t.match(lineOf(id)?.detail, /^session: session store unavailable: timeout/, `${url}: the line says why`)
  }
  const live = await app.inject({ method: 'GET', url: '/livez' })
  t.equal(live.statusCode, 200, '/livez asks no store')
})

t.test('a bug in the store is 500 GW_ERR_INTERNAL, logged with its stack, never a file', async (t) => {
  const app = await appOver(t, new FailingStore(() => new TypeError('a bug')))
  const cookie = await loginAlice(t, app)
  const id = reqId()
  const res = await app.inject({
    method: 'GET',
    url: '/download/home/alice/x.txt',
    headers: { cookie, 'x-request-id': id },
  })
  checkRefusal(t, res, 500, 'GW_ERR_INTERNAL')
  t.equal(lineOf(id)?.code, 'GW_ERR_INTERNAL')
  t.ok(
    prepared.logs().some((l) => l.msg === 'unexpected error' && l.reqId === id),
    'the error is logged apart from the decision line',
  )
})

t.test('/healthz and /readyz answer 200 with the rule count while the store answers', async (t) => {
  const app = await appOver(t)
  for (const url of ['/healthz', '/readyz']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    t.equal(JSON.parse(res.body).status, 'ok')
    t.ok(JSON.parse(res.body).rules > 0)
  }
})

t.test('/readyz is unready while no rules are loaded (the fail-closed empty set)', async (t) => {
  const empty = { current: { ...prepared.acl.current, ruleCount: 0 } } as typeof prepared.acl
  const app = await prepared.build(new MemorySessionStore(), empty)
  t.teardown(() => app.close())
  const id = reqId()
  const res = await app.inject({ method: 'GET', url: '/readyz', headers: { 'x-request-id': id } })
  checkRefusal(t, res, 503, 'GW_ERR_NOT_READY')
  t.equal(JSON.parse(res.body).message, 'Not ready: rules')
  t.equal(lineOf(id)?.detail, 'rules: none loaded')
})

t.test('probes are not downloads: other methods and sub-paths are refused', async (t) => {
  const app = await appOver(t)
  const post = await app.inject({ method: 'POST', url: '/livez' })
  checkRefusal(t, post, 404, 'GW_ERR_NO_ROUTE')
  const sub = await app.inject({ method: 'GET', url: '/readyz/x' })
  checkRefusal(t, sub, 404, 'GW_ERR_NO_ROUTE')
})
