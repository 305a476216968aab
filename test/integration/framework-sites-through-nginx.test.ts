// Real Flask, Django and Rails sites and the gateway behind real nginx, sharing the site's secret:
// a user logged in by the site downloads their own file, is refused another user's (403), and
// once the site has logged them out the browser's next download is 401. Also: the copy of the
// cookie from before the logout still works until the secret is rotated out of the gateway (the
// price of a session kept in the cookie, stated in docs/sessions.md), and no longer once it is.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { makeFileTree } from '../harness/files.js'
import { startGateway } from '../harness/gateway.js'
import { get } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { spawnManaged } from '../harness/process.js'
import { downloadPath } from '../harness/scenario.js'

interface Site {
  readonly source: 'flask' | 'django' | 'rails'
  readonly command: string
  readonly script: string
  /** The variable the tiny app reads its secret from. */
  readonly appSecretVariable: string
  readonly gatewaySecretVariable: string
  readonly cookieName: string
  newSecret(): string
}

const SITES: readonly Site[] = [
  {
    source: 'flask',
    command: '/usr/bin/python3',
    script: 'test/fixtures/apps/flask-app.py',
    appSecretVariable: 'FLASK_SECRET_KEY',
    gatewaySecretVariable: 'GATEWAY_FLASK_SECRET_KEYS',
    cookieName: 'session',
    newSecret: () => randomBytes(24).toString('hex'),
  },
  {
    source: 'django',
    command: '/usr/bin/python3',
    script: 'test/fixtures/apps/django-app.py',
    appSecretVariable: 'DJANGO_SECRET_KEY',
    gatewaySecretVariable: 'GATEWAY_DJANGO_SECRET_KEYS',
    cookieName: 'sessionid',
    newSecret: () => `django-insecure-${randomBytes(24).toString('hex')}`,
  },
  {
    source: 'rails',
    command: 'ruby',
    script: 'test/fixtures/apps/rails-app.rb',
    appSecretVariable: 'RAILS_SECRET_KEY_BASE',
    gatewaySecretVariable: 'GATEWAY_RAILS_SECRET_KEY_BASE',
    cookieName: '_app_session',
    newSecret: () => randomBytes(64).toString('hex'),
  },
]

const ACL = `rules:
  - id: homes
    path: /home/{user}/**
    allow: authenticated
`
const configFor = (source: string) => `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  source: ${source}
acl:
  paths: [acl.d]
  watch: false
`

/** The session cookie a response gives the browser: `name=value`, null when deleted, undefined when untouched. */
function sessionCookieFrom(headers: Headers, name: string): string | null | undefined {
  for (const header of headers.getSetCookie()) {
    const pair = header.split(';')[0] as string
    if (!pair.startsWith(`${name}=`)) continue
    const value = pair.slice(name.length + 1)
    const deleted = value === '' || value === '""' || /expires=Thu, 01[ -]Jan[ -]1970|max-age=0/i.test(header)
    return deleted ? null : pair
  }
  return undefined
}

async function startSite(site: Site, secret: string): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const port = await freePort()
  // spawnManaged hands the test process's environment on: the secret reaches the app through it.
  process.env[site.appSecretVariable] = secret
  const app = spawnManaged(site.command, [site.script, String(port)])
  const baseUrl = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (app.hasExited()) throw new Error(`${site.source} exited: ${app.output()}`)
    const up = await fetch(`${baseUrl}/`).then(
      () => true,
      () => false,
    )
    if (up) return { baseUrl, stop: () => app.stop('SIGTERM') }
    await new Promise((r) => setTimeout(r, 100))
  }
  await app.stop('SIGTERM')
  throw new Error(`${site.source} did not start: ${app.output()}`)
}

for (const site of SITES) {
  t.test(`${site.source} logs in and out; the gateway behind nginx follows`, async (t) => {
    const secret = site.newSecret()
    const app = await startSite(site, secret)
    t.teardown(() => app.stop())
    const tree = await makeFileTree({ 'home/alice/a.txt': 'alice file\n', 'home/bob/b.txt': 'bob file\n' })
    t.teardown(() => tree.cleanup())
    const startWith = async (keys: string) => {
      const gateway = await startGateway({
        configYaml: configFor(site.source),
        aclFiles: { '10.yaml': ACL },
        filesRoot: tree.root,
        env: { [site.gatewaySecretVariable]: keys },
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
    const first = await startWith(secret)
    t.teardown(() => first.stop())
    const download = (base: string, file: string, cookie: string | null | undefined) =>
      get(`${base}${downloadPath(file)}`, cookie ? { cookie: `theme=dark; ${cookie}` } : {})

    const login = await fetch(`${app.baseUrl}/login?user=alice`)
    const cookie = sessionCookieFrom(login.headers, site.cookieName)
    if (!cookie) throw new Error(`${site.source} set no session cookie`)

    const own = await download(first.nginx.baseUrl, 'home/alice/a.txt', cookie)
    t.equal(own.status, 200, 'her own file')
    t.equal(own.body.toString(), 'alice file\n', 'served by nginx')
    t.equal(own.headers['x-accel-redirect'], undefined, 'the internal header stays inside nginx')
    t.equal((await download(first.nginx.baseUrl, 'home/bob/b.txt', cookie)).status, 403, "another's file")
    t.equal((await download(first.nginx.baseUrl, 'home/alice/a.txt', null)).status, 401, 'no cookie')

    const logout = await fetch(`${app.baseUrl}/logout`, { headers: { cookie } })
    const afterLogout = sessionCookieFrom(logout.headers, site.cookieName)
    t.not(afterLogout, undefined, 'the logout sets the cookie anew or deletes it')
    const next = await download(first.nginx.baseUrl, 'home/alice/a.txt', afterLogout)
    t.equal(next.status, 401, "the browser's next download after logout")
    const line = first.gateway.logs().findLast((l) => l.msg === 'decision')
    t.match(line?.detail, new RegExp(`${site.source}: (no-user|no-cookie)`), 'the decision line says why')
    t.notOk(first.gateway.logText().includes(secret), 'the secret is never logged')

    t.equal(
      (await download(first.nginx.baseUrl, 'home/alice/a.txt', cookie)).status,
      200,
      'a copy of the old cookie still works: nothing server-side remembers the logout',
    )
    await first.stop()
    const rotated = await startWith(site.newSecret())
    t.teardown(() => rotated.stop())
    const refused = await download(rotated.nginx.baseUrl, 'home/alice/a.txt', cookie)
    t.equal(refused.status, 401, 'once the secret is rotated out, that copy is refused too')
    t.match(rotated.gateway.logs().findLast((l) => l.msg === 'decision')?.detail, /bad-signature/)
  })
}
