// A main app built with express + express-session + connect-redis (the real packages) logs a user
// in; the gateway, configured with the same secret, cookie name and key prefix, honours that
// session through real nginx and real Redis.
import type { AddressInfo } from 'node:net'
import { RedisStore } from 'connect-redis'
import express from 'express'
import session from 'express-session'
import { createClient } from 'redis'
import t from 'tap'
import { makeFileTree } from '../harness/files.js'
import { startGateway, TEST_SECRET } from '../harness/gateway.js'
import { startNginx } from '../harness/nginx.js'
import { startRedis } from '../harness/redis.js'

const redis = await startRedis()
t.teardown(() => redis.stop())
const tree = await makeFileTree({ 'team/plan.txt': 'the plan\n', 'admin/keys.txt': 'admin only\n' })
t.teardown(() => tree.cleanup())

// The main app, as its developers would write it.
const mainRedis = createClient({ url: redis.url })
await mainRedis.connect()
t.teardown(() => mainRedis.close())
const mainApp = express()
mainApp.use(
  session({
    name: 'app.sid',
    secret: TEST_SECRET,
    store: new RedisStore({ client: mainRedis, prefix: 'myapp:' }),
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3600_000 },
  }),
)
mainApp.post('/signin/:user', (req, res) => {
  ;(req.session as unknown as { account: unknown }).account = { login: req.params.user, teams: ['team'] }
  res.sendStatus(204)
})
mainApp.post('/signout', (req, res) => req.session.destroy(() => res.sendStatus(204)))
const mainServer = mainApp.listen(0, '127.0.0.1')
await new Promise((resolve) => mainServer.once('listening', resolve))
t.teardown(() => new Promise((resolve) => mainServer.close(resolve)))
const mainUrl = `http://127.0.0.1:${(mainServer.address() as AddressInfo).port}`

const gateway = await startGateway({
  configYaml: `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: redis
  cookie_name: app.sid
  cookie_prefix: "s:"
  user_id_field: account.login
  groups_field: account.teams
  redis:
    url: \${REDIS_URL}
    key_prefix: "myapp:"
acl:
  paths: [acl.d]
  watch: false
`,
  aclFiles: { 'rules.yaml': 'rules:\n  - id: team\n    path: /{group}/**\n    allow: authenticated\n' },
  filesRoot: tree.root,
  redisUrl: redis.url,
})
t.teardown(() => gateway.stop())
const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
t.teardown(() => nginx.stop())

async function signIn(user: string): Promise<string> {
  const res = await fetch(`${mainUrl}/signin/${user}`, { method: 'POST' })
  t.equal(res.status, 204)
  return (res.headers.get('set-cookie') ?? '').split(';')[0] as string
}

t.test('express-session: its cookie is the s:-prefixed signed form, stored by connect-redis', async (t) => {
  const cookie = await signIn('erin')
  t.match(cookie, /^app\.sid=s%3A[^.]+\..+$/)
  const keys = await mainRedis.keys('myapp:*')
  t.ok(keys.length >= 1, 'connect-redis wrote the session')
})

t.test('express-session: the gateway accepts a session the main app wrote', async (t) => {
  const cookie = await signIn('erin')
  const res = await fetch(`${nginx.baseUrl}/download/team/plan.txt`, { headers: { cookie } })
  t.equal(res.status, 200)
  t.equal(await res.text(), 'the plan\n')
})

t.test('express-session: groups from the session decide, as configured', async (t) => {
  const cookie = await signIn('erin')
  const res = await fetch(`${nginx.baseUrl}/download/admin/keys.txt`, { headers: { cookie } })
  t.equal(res.status, 403)
})

t.test('express-session: a sign-out in the main app ends access on the next request', async (t) => {
  const cookie = await signIn('erin')
  t.equal((await fetch(`${nginx.baseUrl}/download/team/plan.txt`, { headers: { cookie } })).status, 200)
  t.equal((await fetch(`${mainUrl}/signout`, { method: 'POST', headers: { cookie } })).status, 204)
  t.equal((await fetch(`${nginx.baseUrl}/download/team/plan.txt`, { headers: { cookie } })).status, 401)
})
