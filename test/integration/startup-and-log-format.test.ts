// The first minute, as a person meets it: the built server (dist/, made by the test command) run as
// its own process. A start that cannot work ends in one line on stderr and a documented exit code,
// with the log written up to that line; the log is readable on a terminal and JSON elsewhere, and
// its first line is the address to open.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../harness/ports.js'
import { spawnManaged } from '../harness/process.js'

const SERVER = 'dist/src/server.js'
const EXAMPLE_FILES = join(process.cwd(), 'examples/files')
const STACK_LINE = /^\s+at /m

interface Exit {
  code: number | null
  stdout: string
  stderr: string
}

function runToExit(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, GATEWAY_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A config folder: gateway.yaml from `gatewayYaml`, rules with one shadowed rule (a warning). */
async function configDir(gatewayYaml: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-start-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'acl.d'))
  await writeFile(
    join(dir, 'acl.d', 'rules.yaml'),
    'rules:\n  - id: open\n    path: /public/**\n    allow: anyone\n  - id: never\n    path: /public/x/**\n    allow: anyone\n',
  )
  const file = join(dir, 'gateway.yaml')
  await writeFile(file, gatewayYaml)
  return { dir, file }
}

const BASE = (filesRoot: string, extra = '') =>
  `${extra}delivery:\n  mode: direct\n  files_root: ${filesRoot}\nsession:\n  store: memory\nacl:\n  paths: [acl.d]\n  watch: false\n`

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

t.test('start-up: a port in use is one line naming the setting, exit 1, the log kept', async (t) => {
  const port = await freePort()
  const held = await holdPort(port)
  t.teardown(() => new Promise<void>((resolve) => held.close(() => resolve())))
  const { file } = await configDir(BASE(EXAMPLE_FILES, `server:\n  port: ${port}\n`))

  const run = await runToExit({ GATEWAY_CONFIG: file, GATEWAY_LOG_FORMAT: 'json' })
  t.equal(run.code, 1)
  t.equal(
    run.stderr,
    `download-gateway: port ${port} is already in use on 127.0.0.1 (server.port in ${file}:2)\n`,
    'one line on stderr, naming the config line',
  )
  t.notMatch(run.stdout + run.stderr, STACK_LINE, 'no stack trace')
  const lines = jsonLines(run.stdout)
  t.match(
    lines.find((l) => l.level === 40),
    { msg: /rule 'never' can never match/ },
    'a warning logged during start-up is written',
  )
  t.match(lines.at(-1), {
    level: 60,
    msg: `port ${port} is already in use on 127.0.0.1 (server.port in ${file}:2)`,
  })

  const fromEnv = await runToExit({
    GATEWAY_CONFIG: file,
    GATEWAY_LOG_FORMAT: 'json',
    GATEWAY_PORT: String(port),
  })
  t.equal(fromEnv.code, 1)
  t.equal(fromEnv.stderr, `download-gateway: port ${port} is already in use on 127.0.0.1 (GATEWAY_PORT)\n`)
})

t.test('start-up: a missing files root is one line with file, line and field, exit 2', async (t) => {
  const { dir, file } = await configDir(BASE('./no-such-folder'))
  const run = await runToExit({ GATEWAY_CONFIG: file, GATEWAY_LOG_FORMAT: 'json', GATEWAY_PORT: '0' })
  t.equal(run.code, 2)
  const line = `${file}:3 delivery.files_root: ${join(dir, 'no-such-folder')} does not exist`
  t.equal(run.stderr, `download-gateway: ${line}\n`)
  t.notMatch(run.stdout + run.stderr, STACK_LINE)
  t.match(jsonLines(run.stdout).at(-1), { level: 60, msg: line }, 'the log has the line too')
})

t.test('start-up: an unreadable users file is one line naming the config line, exit 2', async (t) => {
  const gateway = `${BASE(EXAMPLE_FILES)}login:\n  enabled: true\n  users_file: users.yaml\n`
  const { dir, file } = await configDir(gateway)
  // Tests may run as root, who reads a chmod 000 file: a folder cannot be read as a file by anyone.
  await mkdir(join(dir, 'users.yaml'))
  const run = await runToExit({ GATEWAY_CONFIG: file, GATEWAY_LOG_FORMAT: 'json', GATEWAY_PORT: '0' })
  t.equal(run.code, 2)
  t.equal(
    run.stderr,
    `download-gateway: ${file}:11 login.users_file: ${join(dir, 'users.yaml')} is a directory\n`,
  )
  t.notMatch(run.stdout + run.stderr, STACK_LINE)

  await rm(join(dir, 'users.yaml'), { recursive: true })
  const missing = await runToExit({ GATEWAY_CONFIG: file, GATEWAY_PORT: '0' })
  t.equal(missing.code, 2)
  t.match(missing.stderr, /^download-gateway: .*login\.users_file: .*users\.yaml does not exist\n$/)
})

t.test('start-up: a bad log setting in the environment is refused, exit 2', async (t) => {
  const run = await runToExit({ GATEWAY_CONFIG: 'config/gateway.yaml', GATEWAY_LOG_FORMAT: 'colourful' })
  t.equal(run.code, 2)
  t.equal(run.stderr, 'download-gateway: environment GATEWAY_LOG_FORMAT: must be one of auto, pretty, json\n')
  const level = await runToExit({ GATEWAY_CONFIG: 'config/gateway.yaml', GATEWAY_LOG_LEVEL: 'loud' })
  t.equal(level.code, 2)
  t.match(level.stderr, /^download-gateway: environment GATEWAY_LOG_LEVEL: must be one of fatal, .*\n$/)
  t.notMatch(run.stderr + level.stderr, STACK_LINE)
})

/** Runs `command` with `env` added (through env(1), so the process is the command itself). */
function spawnWith(env: Record<string, string>, command: string, args: string[]) {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`)
  return spawnManaged('env', [...vars, command, ...args])
}

/** Polls `url` until it answers; its status, or 0 if the process ended first. */
async function waitFor(url: string, proc: ReturnType<typeof spawnManaged>): Promise<number> {
  for (let i = 0; i < 200 && !proc.hasExited(); i++) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    )
    if (status !== 0) return status
    await new Promise((r) => setTimeout(r, 100))
  }
  return 0
}

const LOG_WRITTEN_MS = 300 // lines are written within 100 ms

/** Starts the server through `command`, waits until it answers, stops it; its output. */
async function outputOf(command: string, args: string[], env: Record<string, string>, port: number) {
  const proc = spawnWith({ GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), ...env }, command, args)
  try {
    await waitFor(`http://127.0.0.1:${port}/healthz`, proc)
    await new Promise((r) => setTimeout(r, LOG_WRITTEN_MS))
    return proc.output().replace(/\r/g, '')
  } finally {
    await proc.stop('SIGTERM')
  }
}

// A pseudo-terminal from util-linux's script(1), which Debian always installs.
function onTerminal(env: Record<string, string>, port: number) {
  return outputOf('script', ['-qec', `'${process.execPath}' ${SERVER}`, '/dev/null'], env, port)
}

t.test('log format: on a terminal, readable lines, the first one the address to open', async (t) => {
  const port = await freePort()
  const out = await onTerminal({ GATEWAY_CONFIG: 'config/gateway.yaml', NO_COLOR: '1' }, port)
  const lines = out.split('\n').filter((l) => l.length > 0)
  t.match(
    lines[0],
    new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  listening on http://127\\.0\\.0\\.1:${port}/download/ `),
  )
  t.match(out, / WARN {2}the example login user exists/, 'warnings, one line each')
  t.notMatch(out, /\{"level"/, 'no JSON lines')
  t.notOk(out.includes('\u001b['), 'no colours under NO_COLOR')
})

t.test('log format: server.log_format json keeps JSON even on a terminal', async (t) => {
  const port = await freePort()
  const { file } = await configDir(BASE(EXAMPLE_FILES, 'server:\n  log_format: json\n'))
  const out = await onTerminal({ GATEWAY_CONFIG: file }, port)
  const lines = jsonLines(out)
  t.ok(lines.length >= 2, 'every line parses as JSON')
  t.ok(
    lines.some((l) => l.level === 30 && l.msg === `listening on http://127.0.0.1:${port}/download/`),
    'the listening line with its address',
  )
})

t.test(
  'log format: JSON when not a terminal; pretty on request, with each decision on one line',
  async (t) => {
    const port = await freePort()
    const node = process.execPath
    const json = await outputOf(node, [SERVER], { GATEWAY_CONFIG: 'config/gateway.yaml' }, port)
    t.match(JSON.parse(json.split('\n')[0] ?? ''), {
      msg: `listening on http://127.0.0.1:${port}/download/`,
      url: `http://127.0.0.1:${port}/download/`,
    })

    const port2 = await freePort()
    const proc = spawnWith(
      {
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port2),
        GATEWAY_CONFIG: 'config/gateway.yaml',
        GATEWAY_LOG_FORMAT: 'pretty',
      },
      node,
      [SERVER],
    )
    t.teardown(() => proc.stop('SIGTERM'))
    t.equal(await waitFor(`http://127.0.0.1:${port2}/download/public/welcome.txt`, proc), 200)
    await new Promise((r) => setTimeout(r, LOG_WRITTEN_MS))
    const out = proc.output()
    t.match(out.split('\n')[0], / INFO {2}listening on http:\/\/127\.0\.0\.1:\d+\/download\//)
    t.match(out, /\n\S+ INFO {2}200 GET \/public\/welcome\.txt GW_ALLOW .*rule=public/)
    t.notMatch(out, /\{"level"/)
  },
)
