// The README's first promise: `npm start` on a fresh clone brings the gateway up on its embedded
// defaults (direct delivery, embedded sessions, the demo user), and the README's curl steps work.
// Runs the built server (dist/, made by the test command) as its own process.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../harness/ports.js'

const SERVER = 'dist/src/server.js'

interface Started {
  child: ChildProcess
  port: number
  output: () => string
}

async function startServer(env: Record<string, string>): Promise<Started> {
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER], {
    // Loopback only, whatever the caller's environment says.
    env: { ...process.env, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString()
  })
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString()
  })
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`)
      return { child, port, output: () => output }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  child.kill()
  throw new Error(`server did not start:\n${output}`)
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

t.test('default start: the README steps log in, download and get refused', async (t) => {
  const server = await startServer({ GATEWAY_CONFIG: 'config/gateway.yaml' })
  t.teardown(() => stop(server.child))
  const base = `http://127.0.0.1:${server.port}`

  const anonymous = await fetch(`${base}/download/home/demo/notes.txt`)
  t.equal(anonymous.status, 401, 'a private file needs a login')

  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=demo&password=demo-download-1',
  })
  t.equal(login.status, 200)
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
  t.match(cookie, /^sessionId=/)

  const allowed = await fetch(`${base}/download/home/demo/notes.txt`, { headers: { cookie } })
  t.equal(allowed.status, 200)
  t.ok(
    Buffer.from(await allowed.arrayBuffer()).equals(readFileSync('examples/files/home/demo/notes.txt')),
    'byte for byte',
  )

  const forbidden = await fetch(`${base}/download/home/alice/secret.txt`, { headers: { cookie } })
  t.equal(forbidden.status, 403)
  t.notMatch(await forbidden.text(), /Alice's private file/)

  const hidden = await fetch(`${base}/download/reports/finance-only.txt`, { headers: { cookie } })
  t.equal(hidden.status, 404, 'hidden from non-finance users')

  const ranged = await fetch(`${base}/download/reports/q2-summary.csv`, {
    headers: { cookie, range: 'bytes=0-6' },
  })
  t.equal(ranged.status, 206)
  t.equal(await ranged.text(), 'quarter')

  const missing = await fetch(`${base}/download/public/missing.txt`, { headers: { cookie } })
  t.equal(missing.status, 404)

  await new Promise((r) => setTimeout(r, 300)) // log lines are written within 100 ms
  const output = server.output()
  t.match(
    output,
    /"status":200,"code":"GW_ALLOW","path":"\/home\/demo\/notes.txt","user":"demo"/,
    'decision logged',
  )
  t.match(
    output,
    /"status":404,"code":"GW_ERR_NOT_FOUND","path":"\/public\/missing.txt".*"detail":"not-found"/,
  )
  t.match(output, /example login user exists/, 'warns about the demo user')
  t.match(output, /direct delivery/, 'says it is in direct mode')
  t.notMatch(output, /demo-download-1/, 'never logs the password')
})

t.test('default start: a bad config stops start-up naming file, line and field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-badconfig-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'gateway.yaml')
  await writeFile(
    file,
    'delivery:\n  mode: ftp\n  files_root: .\nsession:\n  store: memory\n  colour: red\nacl:\n  paths: [acl.d]\n',
  )
  const { code, output } = await runToExit({ GATEWAY_CONFIG: file })
  t.equal(code, 2)
  t.match(output, `${file}:2 delivery.mode: must be one of`)
  t.match(output, `${file}:6 session.colour: unknown field`)
})

t.test('default start: a bad ACL file stops start-up naming file and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-badacl-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(
    join(dir, 'gateway.yaml'),
    'delivery:\n  mode: direct\n  files_root: .\nsession:\n  store: memory\nacl:\n  paths: [rules.yaml]\n',
  )
  await writeFile(
    join(dir, 'rules.yaml'),
    'rules:\n  - id: a\n    path: /x/**\n    allow: anyone\n    colour: red\n',
  )
  const { code, output } = await runToExit({ GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  t.equal(code, 2)
  t.match(output, `${join(dir, 'rules.yaml')}:5`)
  t.match(output, /colour/)
})

t.test('default start: SIGTERM closes the server cleanly', async (t) => {
  const server = await startServer({ GATEWAY_CONFIG: 'config/gateway.yaml' })
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.match(server.output(), /"msg":"closing"/)
})

t.test('default start: SIGHUP reloads the rules, and a bad rule file keeps the running ones', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-sighup-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const rules = join(dir, 'rules.yaml')
  const allowRule = 'rules:\n  - id: open\n    path: /public/**\n    allow: anyone\n'
  await writeFile(rules, allowRule)
  await writeFile(
    join(dir, 'gateway.yaml'),
    `delivery:\n  mode: direct\n  files_root: ${join(process.cwd(), 'examples/files')}\nsession:\n  store: memory\nacl:\n  paths: [rules.yaml]\n  watch: false\n`,
  )
  const server = await startServer({ GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  t.teardown(() => stop(server.child))
  const url = `http://127.0.0.1:${server.port}/download/public/welcome.txt`
  const statusAfterHup = async (expected: number) => {
    server.child.kill('SIGHUP')
    for (let i = 0; i < 50; i++) {
      const s = (await fetch(url)).status
      if (s === expected) return s
      await new Promise((r) => setTimeout(r, 100))
    }
    return (await fetch(url)).status
  }
  t.equal((await fetch(url)).status, 200)
  await writeFile(rules, 'rules:\n  - id: closed\n    path: /public/**\n    deny: anyone\n')
  t.equal(await statusAfterHup(401), 401, 'the new rule denies')
  await writeFile(rules, allowRule)
  t.equal(await statusAfterHup(200), 200, 'and a good file is taken again')
  // Broken while an allow rule is live: were the rules dropped, the default (deny) would show.
  await writeFile(rules, 'rules:\n  - id: [broken\n')
  server.child.kill('SIGHUP')
  await new Promise((r) => setTimeout(r, 500))
  t.equal((await fetch(url)).status, 200, 'the broken file changed nothing')
  t.match(server.output(), /rules\.yaml:\d+/, 'the error names the file and line')
})
