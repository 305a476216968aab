// `check` with session.source php, run as its own process: it describes PHP's store, reaches it with
// --connect (the files folder, or phpredis in a real Redis), and refuses the built-in login with
// this source exactly as the gateway itself does at start.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCli, runServerToExit } from '../harness/cli.js'
import { freePort } from '../harness/ports.js'
import { startRedis } from '../harness/redis.js'

const dir = await mkdtemp(join(tmpdir(), 'gw-php-cli-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
await mkdir(join(dir, 'acl.d'))
await mkdir(join(dir, 'files'))
await mkdir(join(dir, 'sessions'))
await writeFile(
  join(dir, 'acl.d', '10.yaml'),
  'rules:\n  - id: public\n    path: /public/**\n    allow: anyone\n',
)

async function config(name: string, php: string, extra = ''): Promise<string> {
  const file = join(dir, name)
  await writeFile(
    file,
    `server:
  log_level: warn
delivery:
  mode: direct
  files_root: files
session:
  store: memory
  source: php
  redis:
    connect_timeout_ms: 300
    command_timeout_ms: 300
  php:
${php}acl:
  paths: [acl.d]
  watch: false
${extra}`,
  )
  return file
}

t.test('check --connect, files handler: the folder answers, a missing one does not', async (t) => {
  const good = await config('files.yaml', '    save_path: sessions\n')
  const up = await runCli(['check', '--config', good, '--connect'])
  t.equal(up.code, 0, up.stderr)
  t.match(up.stdout, `direct delivery, PHP sessions (files in ${join(dir, 'sessions')}), login off`)
  t.match(up.stdout, /store: .*sessions: answered in \d+ ms/)
  const missing = await config('missing.yaml', '    save_path: no-such-folder\n')
  const down = await runCli(['check', '--config', missing, '--connect'])
  t.equal(down.code, 3, down.stdout)
  t.match(down.stderr, /store: .*no-such-folder: .*ENOENT/)
})

t.test('check --connect, phpredis: a real Redis answers, a closed port does not', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const file = await config('redis.yaml', '    save_handler: redis\n')
  const up = await runCli(['check', '--config', file, '--connect'], { GATEWAY_REDIS_URL: redis.url })
  t.equal(up.code, 0, up.stderr)
  t.match(up.stdout, 'PHP sessions (phpredis)')
  const closed = await freePort()
  const down = await runCli(['check', '--config', file, '--connect'], {
    GATEWAY_REDIS_URL: `redis://user:hunter2-password@127.0.0.1:${closed}`,
  })
  t.equal(down.code, 3, down.stdout)
  t.match(down.stderr, `store: redis://[redacted]@127.0.0.1:${closed}`)
  t.notMatch(down.stderr, 'hunter2', 'the password in the URL is not printed')
})

t.test(
  'the built-in login with source php: check and the gateway both refuse, naming the field',
  async (t) => {
    const file = await config(
      'login.yaml',
      '    save_path: sessions\n',
      'login:\n  enabled: true\n  users_file: u.yaml\n',
    )
    const checked = await runCli(['check', '--config', file])
    t.equal(checked.code, 2)
    t.match(checked.stderr, /login\.yaml:\d+.*login\.enabled.*writes connect sessions/)
    const started = await runServerToExit({
      GATEWAY_CONFIG: file,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: '0',
    })
    t.equal(started.code, 2)
    t.match(started.stderr, /login\.enabled.*writes connect sessions/)
  },
)
