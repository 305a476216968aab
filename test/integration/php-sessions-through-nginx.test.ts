// A real PHP app (`php -S` serving test/fixtures/apps/php/web/index.php) logs users in and out
// with PHP's native sessions; the gateway, configured with source php and the same store, decides
// downloads through real nginx. Once with the files handler (a shared save_path), once with
// phpredis (a shared Redis).
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import t from 'tap'
import { makeFileTree } from '../harness/files.js'
import { startGateway } from '../harness/gateway.js'
import { startNginx } from '../harness/nginx.js'
import { type PhpSessionIni, startPhpServer } from '../harness/php.js'
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

for (const handler of ['files', 'redis'] as const) {
  t.test(`PHP sessions, ${handler} handler, through nginx`, async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'gw-php-e2e-'))
    t.teardown(() => rm(base, { recursive: true, force: true }))
    const savePath = join(base, 'sessions')
    await mkdir(savePath)
    const redis = handler === 'redis' ? await startRedis() : undefined
    if (redis) t.teardown(() => redis.stop())

    const ini: PhpSessionIni =
      handler === 'files'
        ? { saveHandler: 'files', savePath }
        : { saveHandler: 'redis', savePath: `tcp://127.0.0.1:${redis?.port}` }
    const app = await startPhpServer(ini)
    t.teardown(() => app.stop())

    const phpBlock =
      handler === 'files'
        ? `    save_handler: files\n    save_path: ${savePath}\n`
        : '    save_handler: redis\n'
    const redisBlock = redis ? `  redis:\n    url: \${REDIS_URL}\n    command_timeout_ms: 300\n` : ''
    const gateway = await startGateway({
      configYaml: `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  source: php
${redisBlock}  php:
${phpBlock}    objects: refuse
acl:
  paths: [acl.d]
  watch: false
`,
      aclFiles: { 'rules.yaml': ACL },
      filesRoot: tree.root,
      ...(redis ? { redisUrl: redis.url } : {}),
    })
    t.teardown(() => gateway.stop())
    const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
    t.teardown(() => nginx.stop())

    const login = async (user: string, roles: string) => {
      const res = await fetch(`${app.baseUrl}/login?user=${user}&roles=${roles}`)
      t.equal(res.status, 200, `the app logs ${user} in`)
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string
      t.match(cookie, /^PHPSESSID=[0-9a-f]{32}$/, "PHP's own cookie")
      return cookie
    }
    const download = (path: string, cookie: string) =>
      fetch(`${nginx.baseUrl}/download/${path}`, { headers: { cookie } })
    const lastDecision = () =>
      gateway
        .logs()
        .filter((l) => l.msg === 'decision')
        .at(-1)

    const alice = await login('alice', 'finance')
    let res = await download('home/alice/own.txt', alice)
    t.equal(res.status, 200, 'alice gets her file')
    t.equal(await res.text(), 'alice only\n')
    t.equal((await download('reports/q1.txt', alice)).status, 200, 'and the finance report')
    t.equal((await download('home/bob/own.txt', alice)).status, 403, "never bob's")
    t.match(lastDecision(), { code: 'GW_ERR_DENIED', user: 'alice' })

    const bob = await login('bob', '')
    t.equal((await download('home/bob/own.txt', bob)).status, 200, 'bob gets his')
    t.equal((await download('reports/q1.txt', bob)).status, 403, 'not the report')

    t.equal((await fetch(`${app.baseUrl}/logout`, { headers: { cookie: alice } })).status, 200)
    res = await download('home/alice/own.txt', alice)
    t.equal(res.status, 401, 'the very next download after logout is 401')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_UNKNOWN', detail: /php: unknown/ })

    const forged = `PHPSESSID=${'../'.repeat(10)}etc`
    t.equal((await download('home/bob/own.txt', forged)).status, 401, 'a value that is no PHP id')
    t.match(lastDecision(), { code: 'GW_ERR_BAD_COOKIE', detail: /php: php-bad-id/ })

    // Hostile data in the shared store, as a compromised or buggy writer could leave it.
    const hostile = async (id: string, data: string) => {
      if (handler === 'files') return writeFile(join(savePath, `sess_${id}`), data)
      const client = createClient({ url: redis?.url })
      await client.connect()
      await client.set(`PHPREDIS_SESSION:${id}`, data)
      await client.close()
    }
    await hostile('a'.repeat(32), 'user_id|O:8:"Exploit":1:{s:3:"cmd";s:2:"id";}')
    t.equal((await download('home/alice/own.txt', `PHPSESSID=${'a'.repeat(32)}`)).status, 401, 'an object')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_UNREADABLE', detail: /php: php-object/ })
    await hostile('b'.repeat(32), 'user_id|s:5:"alice";roles|a:2:{i:0;s:7:"fin')
    t.equal((await download('home/alice/own.txt', `PHPSESSID=${'b'.repeat(32)}`)).status, 401, 'truncated')
    t.match(lastDecision(), { code: 'GW_ERR_SESSION_UNREADABLE', detail: /php: truncated/ })

    if (handler === 'files') {
      // An idle session past gc_maxlifetime (1440 s) is expired, even before PHP's collector runs.
      const carol = await login('carol', '')
      const idle = new Date(Date.now() - 1500_000)
      await utimes(join(savePath, `sess_${carol.split('=')[1]}`), idle, idle)
      t.equal((await download('home/carol/x.txt', carol)).status, 401, 'expired')
      t.match(lastDecision(), { code: 'GW_ERR_SESSION_EXPIRED', detail: /php: expired/ })
    }

    const text = gateway.logText()
    for (const cookie of [alice, bob])
      t.notOk(text.includes(cookie.split('=')[1] as string), 'no session id logged')
    t.notOk(text.includes('Exploit'), 'no session data logged')
  })
}
