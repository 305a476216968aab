// `check`, the real command line run as its own process: it fails exactly where the gateway refuses
// to start (the gateway itself is started on the same config and must exit 2 with the same
// problem), and reaches a real Redis with --connect.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startCallbackApp } from '../harness/callback-app.js'
import { runCli, runServerToExit } from '../harness/cli.js'
import { TEST_SECRET } from '../harness/gateway.js'
import { projectRoot } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { type RedisServer, startRedis } from '../harness/redis.js'
import { scenarioUsersYaml } from '../harness/scenario.js'

const dir = await mkdtemp(join(tmpdir(), 'gw-cli-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
await mkdir(join(dir, 'acl.d'))
await mkdir(join(dir, 'files'))
await writeFile(
  join(dir, 'acl.d', '10.yaml'),
  'rules:\n  - id: public\n    path: /public/**\n    allow: anyone\n',
)
await writeFile(join(dir, 'users.yaml'), await scenarioUsersYaml())

/** A config in `dir`; `changes` replaces whole lines of the base. */
async function configWith(name: string, changes: Record<string, string> = {}): Promise<string> {
  let yaml = `server:
  log_level: warn
delivery:
  mode: direct
  files_root: files
session:
  store: memory
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`
  for (const [line, replacement] of Object.entries(changes)) {
    if (!yaml.includes(line)) throw new Error(`no line '${line}' in the base config`)
    yaml = yaml.replace(line, replacement)
  }
  const file = join(dir, name)
  await writeFile(file, yaml)
  return file
}

/** The gateway on `file`, loopback only and any free port, should it start after all. */
const serverOn = (file: string, env: Record<string, string> = {}) =>
  runServerToExit({ GATEWAY_CONFIG: file, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ...env }, 60_000)

t.test('check: a valid config is ok, exit 0, and says what it checked', async (t) => {
  const file = await configWith('good.yaml')
  const r = await runCli(['check', '--config', file])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, 'direct delivery, embedded sessions')
  t.match(r.stdout, 'ok: 1 rules from 1 files, 0 warnings')
  t.match(r.stdout, `login: ${join(dir, 'users.yaml')}: 2 users`)
  t.match(r.stdout, `files: ${join(dir, 'files')}`)
  t.match(r.stdout, 'ok: the gateway would start with this configuration')
})

t.test('check and the gateway: a missing users file is exit 2 for both, at its config line', async (t) => {
  const file = await configWith('no-users.yaml', { '  users_file: users.yaml': '  users_file: missing.yaml' })
  const problem = `${file}:10 login.users_file: ${join(dir, 'missing.yaml')} does not exist`
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, problem)
  t.notMatch(check.stdout, /would start/)
  const server = await serverOn(file)
  t.equal(server.code, 2, 'the gateway refuses to start')
  t.match(server.stderr, problem, 'with the same words')
})

t.test('check and the gateway: a broken users file is exit 2 for both, at its own line', async (t) => {
  await writeFile(join(dir, 'bad-users.yaml'), 'users:\n  - id: x\n    password: plain\n')
  const file = await configWith('bad-users-config.yaml', {
    '  users_file: users.yaml': '  users_file: bad-users.yaml',
  })
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, `${join(dir, 'bad-users.yaml')}:3 users[0].password: must be a scrypt hash`)
  t.equal((await serverOn(file)).code, 2)
})

t.test('check: a user with the published password is exit 2, as for the gateway', async (t) => {
  await copyFile(join(projectRoot(), 'config', 'users.yaml'), join(dir, 'demo-users.yaml'))
  const file = await configWith('demo-users-config.yaml', {
    '  users_file: users.yaml': '  users_file: demo-users.yaml',
  })
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, /demo-users\.yaml:\d+ users: "demo" has the example password published in the README/)
  t.notMatch(check.stdout + check.stderr, 'demo-download-1', 'the password itself is never printed')
})

t.test('check: both problems at once, where the gateway stops at the first', async (t) => {
  const file = await configWith('two.yaml', {
    '  files_root: files': '  files_root: nowhere',
    '  users_file: users.yaml': '  users_file: missing.yaml',
  })
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, `${file}:5 delivery.files_root: ${join(dir, 'nowhere')} does not exist`)
  t.match(check.stderr, `${file}:10 login.users_file: ${join(dir, 'missing.yaml')} does not exist`)
})

t.test('check: broken rules are exit 2, as for the gateway', async (t) => {
  await mkdir(join(dir, 'bad-acl.d'))
  await writeFile(join(dir, 'bad-acl.d', '10.yaml'), 'rules:\n  - id: x\n    path: /a/**\n')
  const file = await configWith('bad-acl.yaml', { '  paths: [acl.d]': '  paths: [bad-acl.d]' })
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, join(dir, 'bad-acl.d', '10.yaml'))
})

t.test('check: Redis sessions need the secrets in the environment, as the gateway does', async (t) => {
  const file = await configWith('redis.yaml', {
    '  store: memory': '  store: redis\n  redis:\n    url: redis://127.0.0.1:1\n    connect_timeout_ms: 300',
  })
  const check = await runCli(['check', '--config', file])
  t.equal(check.code, 2)
  t.match(check.stderr, 'GATEWAY_SESSION_SECRETS')
  t.equal((await serverOn(file)).code, 2)
  const withSecrets = await runCli(['check', '--config', file], { GATEWAY_SESSION_SECRETS: TEST_SECRET })
  t.equal(withSecrets.code, 0, 'without --connect the store is not reached')
  t.match(withSecrets.stdout, '1 session secret')
  t.notMatch(withSecrets.stdout + withSecrets.stderr, TEST_SECRET, 'the secret is never printed')
})

t.test('check --connect: a real Redis answers (exit 0), a closed port does not (exit 3)', async (t) => {
  const redis: RedisServer = await startRedis()
  t.teardown(() => redis.stop())
  const file = await configWith('redis-live.yaml', {
    '  store: memory': '  store: redis\n  redis:\n    connect_timeout_ms: 300\n    command_timeout_ms: 300',
  })
  const up = await runCli(['check', '--config', file, '--connect'], {
    GATEWAY_SESSION_SECRETS: TEST_SECRET,
    GATEWAY_REDIS_URL: redis.url,
  })
  t.equal(up.code, 0, up.stderr)
  t.match(up.stdout, /store: redis:\/\/.*: connected, PING answered in \d+ ms/)
  const closed = await freePort()
  const down = await runCli(['check', '--config', file, '--connect'], {
    GATEWAY_SESSION_SECRETS: TEST_SECRET,
    GATEWAY_REDIS_URL: `redis://user:hunter2-password@127.0.0.1:${closed}`,
  })
  t.equal(down.code, 3)
  t.match(down.stderr, `store: redis://[redacted]@127.0.0.1:${closed}: no connection within 600 ms`)
  t.notMatch(down.stderr, 'hunter2', 'the password in the URL is not printed')
})

t.test(
  'check --connect with the callback source: the app answers (exit 0), a stopped one not (exit 3)',
  async (t) => {
    const app = await startCallbackApp()
    t.teardown(() => app.close())
    const callback = (url: string) => ({
      '  store: memory': `  store: memory\n  source: callback\n  callback:\n    url: ${url}\n    cookie_names: [app_session]\n    timeout_ms: 500`,
      '  enabled: true': '  enabled: false',
    })
    const file = await configWith('callback-live.yaml', callback(app.whoamiUrl))
    const up = await runCli(['check', '--config', file, '--connect'])
    t.equal(up.code, 0, up.stderr)
    t.match(up.stdout, `callback sessions (${app.url})`)
    t.match(up.stdout, new RegExp(`store: ${app.url}: the endpoint answered in \\d+ ms`))
    await app.stop()
    const down = await runCli(['check', '--config', file, '--connect'])
    t.equal(down.code, 3, down.stdout)
    t.match(down.stderr, `store: ${app.url}: session store unavailable: callback: ECONNREFUSED`)
  },
)
