// The built server (dist/, made by the test command) against the published example password: the
// production config with the example users file stops with one line and exit 2; the production
// config as shipped, with its own users file, starts.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import t from 'tap'
import { freePort } from '../harness/ports.js'
import { startRedis } from '../harness/redis.js'

const SERVER = 'dist/src/server.js'
const PRODUCTION = 'config/gateway.production.yaml'

function spawnServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SERVER], {
    // Loopback only, whatever the config or the caller's environment says.
    env: { ...process.env, GATEWAY_HOST: '127.0.0.1', GATEWAY_SESSION_SECRETS: 's'.repeat(40), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString()
  })
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString()
  })
  return { child, output: () => output }
}

const redis = await startRedis()
t.teardown(() => redis.stop())

t.test('start-up: the production config with the example users is refused in one line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-published-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const config = join(dir, 'gateway.yaml')
  const usersFile = resolve('config/users.yaml')
  const text = readFileSync(PRODUCTION, 'utf8')
    .replace('users_file: users.production.yaml', `users_file: ${usersFile}`)
    .replace('paths: [acl.d]', `paths: [${resolve('config/acl.d')}]`)
  t.not(text, readFileSync(PRODUCTION, 'utf8'))
  await writeFile(config, text)
  const { child, output } = spawnServer({
    GATEWAY_CONFIG: config,
    GATEWAY_PORT: String(await freePort()),
    GATEWAY_REDIS_URL: redis.url,
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const code = await new Promise<number | null>((done) => child.once('exit', done))
  clearTimeout(timer)
  t.equal(code, 2)
  const stderrLines = output()
    .split('\n')
    .filter((l) => l.startsWith('download-gateway:'))
  t.equal(stderrLines.length, 1, 'one line')
  t.match(
    stderrLines[0],
    new RegExp(`^download-gateway: ${usersFile}:\\d+ users: "demo" has the example password`),
  )
  t.notMatch(output(), /demo-download-1/, 'the password itself is never printed')
  t.notMatch(output(), /"msg":"listening"/)
})

t.test('start-up: the production config as shipped starts with its own users file', async (t) => {
  const port = await freePort()
  const { child, output } = spawnServer({
    GATEWAY_CONFIG: PRODUCTION,
    GATEWAY_PORT: String(port),
    GATEWAY_REDIS_URL: redis.url,
    // Here the "proxy" is this test on loopback, which the compose networks do not cover.
    GATEWAY_TRUST_PROXY: '127.0.0.1',
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  let health = 0
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status
      if (health === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  t.equal(health, 200, output())
  const login = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
    body: 'username=demo&password=demo-download-1',
  })
  t.equal(login.status, 401, 'no demo user in production')
  t.equal(((await login.json()) as { code: string }).code, 'GW_ERR_LOGIN_FAILED')
})
