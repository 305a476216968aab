// A real Flask site and the gateway behind real nginx, sharing Flask's SECRET_KEY: a user logged
// in by Flask downloads their own file, is refused another user's (403), and once Flask has
// logged them out the browser's next download is 401. Also: the copy of the cookie from before
// the logout still works until the key is rotated out of the gateway (the price of a session
// kept in the cookie, stated in docs/sessions.md), and no longer once it is.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { makeFileTree } from '../harness/files.js'
import { startGateway } from '../harness/gateway.js'
import { get } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { spawnManaged } from '../harness/process.js'
import { downloadPath } from '../harness/scenario.js'

const FLASK_KEY = randomBytes(24).toString('hex')
const ACL = `rules:
  - id: homes
    path: /home/{user}/**
    allow: authenticated
`
const config = `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  source: flask
acl:
  paths: [acl.d]
  watch: false
`

/** The session cookie a Set-Cookie header gives the browser, as `session=<value>`, or null if deleted. */
function sessionCookieFrom(setCookie: string | string[] | undefined): string | null | undefined {
  for (const header of [setCookie ?? []].flat()) {
    const pair = header.split(';')[0] as string
    if (!pair.startsWith('session=')) continue
    return pair === 'session=' || /expires=Thu, 01 Jan 1970/i.test(header) ? null : pair
  }
  return undefined
}

async function startFlask(): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const port = await freePort()
  const app = spawnManaged('/usr/bin/python3', ['test/fixtures/apps/flask-app.py', String(port)])
  const baseUrl = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (app.hasExited()) throw new Error(`Flask exited: ${app.output()}`)
    const up = await fetch(`${baseUrl}/`).then(
      () => true,
      () => false,
    )
    if (up) return { baseUrl, stop: () => app.stop('SIGTERM') }
    await new Promise((r) => setTimeout(r, 100))
  }
  await app.stop('SIGTERM')
  throw new Error(`Flask did not start: ${app.output()}`)
}

t.test('Flask logs in and out; the gateway behind nginx follows', async (t) => {
  // spawnManaged hands the test process's environment on: the key reaches Flask through it.
  process.env.FLASK_SECRET_KEY = FLASK_KEY
  const flask = await startFlask()
  t.teardown(() => flask.stop())
  const tree = await makeFileTree({ 'home/alice/a.txt': 'alice file\n', 'home/bob/b.txt': 'bob file\n' })
  t.teardown(() => tree.cleanup())
  const startWith = async (keys: string) => {
    const gateway = await startGateway({
      configYaml: config,
      aclFiles: { '10.yaml': ACL },
      filesRoot: tree.root,
      env: { GATEWAY_FLASK_SECRET_KEYS: keys },
    })
    const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
    let stopped = false
    const stop = async () => {
      if (stopped) return
      stopped = true
      await nginx.stop()
      await gateway.stop()
    }
    return { gateway, nginx, stop }
  }
  const first = await startWith(FLASK_KEY)
  t.teardown(() => first.stop())
  const download = (base: string, file: string, cookie: string | null) =>
    get(`${base}${downloadPath(file)}`, cookie === null ? {} : { cookie: `theme=dark; ${cookie}` })

  const login = await fetch(`${flask.baseUrl}/login?user=alice`)
  const cookie = sessionCookieFrom(login.headers.getSetCookie())
  if (!cookie) throw new Error('Flask set no session cookie')

  const own = await download(first.nginx.baseUrl, 'home/alice/a.txt', cookie)
  t.equal(own.status, 200, 'her own file')
  t.equal(own.body.toString(), 'alice file\n', 'served by nginx')
  t.equal(own.headers['x-accel-redirect'], undefined, 'the internal header stays inside nginx')
  t.equal((await download(first.nginx.baseUrl, 'home/bob/b.txt', cookie)).status, 403, "another's file")
  t.equal((await download(first.nginx.baseUrl, 'home/alice/a.txt', null)).status, 401, 'no cookie')

  const logout = await fetch(`${flask.baseUrl}/logout`, { headers: { cookie } })
  const afterLogout = sessionCookieFrom(logout.headers.getSetCookie())
  t.ok(afterLogout, 'Flask sets the session back, without the user')
  const next = await download(first.nginx.baseUrl, 'home/alice/a.txt', afterLogout ?? null)
  t.equal(next.status, 401, "the browser's next download after logout")
  const line = first.gateway.logs().findLast((l) => l.msg === 'decision')
  t.match(line, { code: 'GW_ERR_SESSION_NO_USER', detail: /flask: no-user/ }, 'the decision line says why')
  t.notMatch(first.gateway.logText(), FLASK_KEY, 'the secret key is never logged')

  t.equal(
    (await download(first.nginx.baseUrl, 'home/alice/a.txt', cookie)).status,
    200,
    'a copy of the old cookie still works: nothing server-side remembers the logout',
  )
  await first.stop()
  const rotated = await startWith(randomBytes(24).toString('hex'))
  t.teardown(() => rotated.stop())
  t.equal(
    (await download(rotated.nginx.baseUrl, 'home/alice/a.txt', cookie)).status,
    401,
    'once the key is rotated out, that copy is refused too',
  )
})
