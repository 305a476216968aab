// A main app the gateway cannot read the sessions of (test/harness/callback-app.ts, standing in
// for Laravel or Spring) logs a user in; the gateway, configured with `session.source: callback`,
// asks the app's endpoint, and through real nginx serves that user's file, refuses another's, and
// after the app logs the user out refuses them once the cache ttl has passed (at once with ttl 0).
import t from 'tap'
import { APP_COOKIE, startCallbackApp } from '../harness/callback-app.js'
import { makeFileTree } from '../harness/files.js'
import { startGateway } from '../harness/gateway.js'
import { get } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import { sleep } from '../harness/process.js'

const TOKEN = 'the-gateway-token-the-app-checks-0123456789'
const app = await startCallbackApp({ token: TOKEN })
t.teardown(() => app.close())
const tree = await makeFileTree({
  'home/alice/own.txt': 'alice only\n',
  'home/bob/own.txt': 'bob only\n',
  'reports/q1.txt': 'finance only\n',
})
t.teardown(() => tree.cleanup())

const RULES = `rules:
  - id: homes
    path: /home/{user}/**
    allow: authenticated
  - id: reports
    path: /reports/**
    allow: group:finance
`

async function gatewayWithTtl(ttlMs: number) {
  const gateway = await startGateway({
    configYaml: `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  source: callback
  callback:
    url: ${app.whoamiUrl}
    cookie_names: [${APP_COOKIE}]
    timeout_ms: 2000
    cache_ttl_ms: ${ttlMs}
acl:
  paths: [acl.d]
  watch: false
`,
    aclFiles: { 'rules.yaml': RULES },
    filesRoot: tree.root,
    env: { GATEWAY_CALLBACK_TOKEN: TOKEN },
  })
  t.teardown(() => gateway.stop())
  const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
  t.teardown(() => nginx.stop())
  return { gateway, nginx }
}

/** Logs `user` in at the app, as a browser would; the Cookie header to send from then on. */
async function appLogin(user: string, groups: string[]): Promise<string> {
  const res = await fetch(`${app.url}/login?user=${user}&groups=${groups.join(',')}`, { method: 'POST' })
  t.equal(res.status, 200, `the app logs ${user} in`)
  return `_ga=analytics-123; ${(res.headers.get('set-cookie') ?? '').split(';')[0]}; theme=dark`
}

async function appLogout(cookie: string): Promise<void> {
  const res = await fetch(`${app.url}/logout`, { method: 'POST', headers: { cookie } })
  t.equal(res.status, 200, 'the app logs out')
}

for (const ttlMs of [0, 400]) {
  t.test(`callback source through nginx, cache_ttl_ms ${ttlMs}`, async (t) => {
    const { gateway, nginx } = await gatewayWithTtl(ttlMs)
    const download = (path: string, cookie?: string) =>
      get(`${nginx.baseUrl}/download/${path}`, cookie === undefined ? {} : { cookie })

    const alice = await appLogin('alice', ['finance'])
    const own = await download('home/alice/own.txt', alice)
    t.equal(own.status, 200, "alice's own file")
    t.equal(own.body.toString(), 'alice only\n')
    t.equal((await download('reports/q1.txt', alice)).status, 200, 'her group file')
    t.equal((await download('home/bob/own.txt', alice)).status, 403, "bob's file is refused")

    const bob = await appLogin('bob', [])
    t.equal((await download('home/bob/own.txt', bob)).status, 200, 'bob gets his own')
    t.equal((await download('reports/q1.txt', bob)).status, 403, 'bob is not in finance')
    t.equal((await download('home/alice/own.txt')).status, 401, 'no cookie: 401')

    const sent = app.calls.filter((h) => h.cookie !== undefined).map((h) => h.cookie as string)
    t.ok(sent.length > 0, 'the gateway asked the app')
    t.ok(
      sent.every((c) => /^app_session=[A-Za-z0-9_-]+$/.test(c)),
      'only the session cookie was forwarded',
    )
    t.ok(
      app.calls.every((h) => h['x-gateway-token'] === TOKEN),
      'every call carried the token',
    )

    await appLogout(alice)
    if (ttlMs > 0) await sleep(ttlMs + 100)
    t.equal((await download('home/alice/own.txt', alice)).status, 401, 'logged out: the next download is 401')

    const line = gateway.logs().findLast((l) => l.code === 'GW_ERR_SESSION_UNKNOWN')
    t.match(String(line?.detail), /callback: callback-401/, 'the decision line names the source and why')
    t.notMatch(gateway.logText(), /app_session=/, 'no cookie in the logs')

    app.force({ status: 500, body: '' })
    try {
      const down = await download('home/bob/own.txt', `app_session=${'z'.repeat(32)}`)
      t.equal(down.status, 503, 'the app failing: 503, fail closed')
      t.notOk(down.headers['x-accel-redirect'], 'never a redirect to the file')
      const health = await get(`${gateway.baseUrl}/healthz`)
      t.equal(health.status, 503, 'health says so')
    } finally {
      app.force(undefined)
    }
    t.equal((await get(`${gateway.baseUrl}/healthz`)).status, 200, 'healthy again')
  })
}
