// A real Django site with each server-side session backend (db on PostgreSQL; cache and cached_db
// on Redis through django-redis), its users in django.contrib.auth's tables, and the gateway
// reading the same stores behind a real nginx: the user's own file, never another's (403), a
// group's file; then every way the app takes access away (a group removed, the user deactivated,
// a password changed, a logout, the session expiring, the secret rotated) is a refusal on the
// very next download, and a PostgreSQL outage is 503.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { type DjangoServerEngine, startDjangoSite } from '../harness/django-site.js'
import { makeFileTree } from '../harness/files.js'
import { type RunningGateway, startGateway } from '../harness/gateway.js'
import { startNginx } from '../harness/nginx.js'
import { startPostgres } from '../harness/postgres.js'
import { sleep } from '../harness/process.js'
import { startRedis } from '../harness/redis.js'

const ACL = `rules:
  - id: homes
    path: /home/{user}/**
    allow: authenticated
  - id: reports
    path: /reports/**
    allow: group:finance
`

const tree = await makeFileTree({
  'home/alice/own.txt': 'alice only\n',
  'home/bob/own.txt': 'bob only\n',
  'reports/q1.txt': 'finance only\n',
})
t.teardown(() => tree.cleanup())
const [postgres, redis] = await Promise.all([startPostgres(), startRedis()])
t.teardown(() => Promise.all([postgres.stop(), redis.stop()]))

const newSecret = () => `django-insecure-${randomBytes(24).toString('hex')}`

for (const engine of ['db', 'cache', 'cached_db'] as const satisfies readonly DjangoServerEngine[]) {
  t.test(`Django ${engine} sessions through nginx`, async (t) => {
    const secret = newSecret()
    const site = await startDjangoSite({ engine, secret, postgres, redis })
    t.teardown(() => site.stop())
    const start = async (keys: string) => {
      const gateway = await startGateway({
        configYaml: `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  source: django
  redis:
    url: \${REDIS_URL}
    command_timeout_ms: 300
  django:
    backend: ${engine}
    database:
      port: ${postgres.port}
      name: ${site.databaseName}
      user: ${postgres.user}
      statement_timeout_ms: 300
      connect_timeout_ms: 500
    auth:
      enabled: true
      user_column: username
acl:
  paths: [acl.d]
  watch: false
`,
        aclFiles: { 'rules.yaml': ACL },
        filesRoot: tree.root,
        redisUrl: redis.url,
        env: { GATEWAY_DJANGO_SECRET_KEYS: keys, GATEWAY_DJANGO_DATABASE_PASSWORD: postgres.password },
      })
      const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
      // Until its connections are up the source fails closed (503): wait for /readyz to say so.
      for (let i = 0; i < 50; i++) {
        if ((await fetch(`${gateway.baseUrl}/readyz`)).status === 200) break
        await sleep(100)
      }
      return { gateway, nginx, stop: () => Promise.all([nginx.stop(), gateway.stop()]) }
    }
    const first = await start(secret)
    t.teardown(() => first.stop())
    const download = (path: string, cookie: string, base = first.nginx.baseUrl) =>
      fetch(`${base}/download/${path}`, { headers: { cookie: `csrftoken=x; ${cookie}` } })
    const lastDecision = (gateway: RunningGateway = first.gateway) =>
      gateway
        .logs()
        .filter((l) => l.msg === 'decision')
        .at(-1)
    const status = async (path: string, cookie: string) => (await download(path, cookie)).status

    let alice = (await site.login('alice', ['finance'])).cookie
    const own = await download('home/alice/own.txt', alice)
    t.equal(own.status, 200, 'alice gets her file')
    t.equal(await own.text(), 'alice only\n', 'served by nginx')
    t.equal(own.headers.get('x-accel-redirect'), null, 'the internal header stays inside nginx')
    t.equal(await status('reports/q1.txt', alice), 200, 'and the finance report')
    t.equal(await status('home/bob/own.txt', alice), 403, "never bob's")
    t.match(lastDecision(), { code: 'GW_ERR_DENIED', user: 'alice' })

    await site.call('/ungroup?user=alice&group=finance')
    t.equal(await status('reports/q1.txt', alice), 403, 'removed from finance in the app: the next download')
    t.equal(await status('home/alice/own.txt', alice), 200, 'her own file still')

    await site.call('/logout', alice)
    t.equal(await status('home/alice/own.txt', alice), 401, 'the very next download after logout')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_UNKNOWN', detail: /django: unknown/ })

    alice = (await site.login('alice', ['finance'])).cookie
    t.equal(await status('reports/q1.txt', alice), 200, 'logged in again, in finance again')
    await site.call('/password?user=alice')
    t.equal(await status('home/alice/own.txt', alice), 401, 'a password changed in the app')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_USER_REVOKED', detail: /django: auth-hash/ })

    alice = (await site.login('alice', [])).cookie
    t.equal(await status('home/alice/own.txt', alice), 200)
    await site.call('/deactivate?user=alice')
    t.equal(await status('home/alice/own.txt', alice), 401, 'deactivated in the app')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_USER_REVOKED', detail: /django: inactive/ })

    const brief = (await site.login('bob', [], 1)).cookie
    t.equal(await status('home/bob/own.txt', brief), 200, 'a session of one second')
    await sleep(1500)
    t.equal(await status('home/bob/own.txt', brief), 401, 'once it has expired')
    t.match(lastDecision(), {
      detail: engine === 'cache' ? /django: unknown/ : /django: (expired|unknown)/,
    })

    const bob = (await site.login('bob', [])).cookie
    t.equal(await status('home/bob/own.txt', bob), 200)
    t.equal(await status('home/bob/own.txt', 'sessionid=../../etc/passwd'), 401, 'no key shape, no read')
    t.match(lastDecision(), { code: 'GW_ERR_BAD_COOKIE', detail: /django: django-bad-key/ })
    // The auth tables are read for every backend here, so every backend needs PostgreSQL.
    await postgres.halt()
    try {
      t.equal(await status('home/bob/own.txt', bob), 503, 'PostgreSQL down: 503, never 401 or 200')
      t.match(lastDecision(), { code: 'GW_ERR_STORE_UNAVAILABLE' })
    } finally {
      await postgres.start()
    }

    const text = first.gateway.logText()
    t.notOk(text.includes(bob.split('=')[1] as string), 'no session key logged')
    t.notOk(text.includes(secret), 'nor the secret')
    t.notOk(text.includes(postgres.password), 'nor the database password')
    await first.stop()

    const rotated = await start(newSecret())
    t.teardown(() => rotated.stop())
    const afterRotation = await download('home/bob/own.txt', bob, rotated.nginx.baseUrl)
    t.equal(afterRotation.status, 401, 'the secret rotated out of the gateway: refused')
    t.match(lastDecision(rotated.gateway), { detail: /django: (bad-signature|auth-hash)/ })
  })
}
