// The standard production-shaped scenario most integration tests share: real Redis, the gateway in
// x-accel mode with Redis sessions and the built-in login, real nginx rendered from the project's
// template in front, and a file tree with files some users may and may not read.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword } from '../../src/login/password-hash.js'
import { makeFileTree } from './files.js'
import { type RunningGateway, startGateway } from './gateway.js'
import { type NginxServer, startNginx } from './nginx.js'
import { type RedisServer, startRedis } from './redis.js'

export const CHEAP_COST = { ln: 10, r: 8, p: 1 }

export const HOSTILE_NAMES = [
  'with space.txt',
  '100%.txt',
  '%2e%2e',
  'what?.txt',
  'hash#tag.txt',
  'a+b.txt',
  'semi;colon.txt',
  `quote"d'.txt`,
  '-leading-dash.txt',
  '.leading-dot',
  'caf\u00e9-nfc.txt',
  'cafe\u0301-nfd.txt',
  'caf\u00e9.txt',
  'cafe\u0301.txt',
  '日本語.pdf',
  'emoji 😀.png',
  `${'x'.repeat(200)}.bin`,
]

export const SCENARIO_ACL = `# test rules
rules:
  - id: public
    path: /public/**
    allow: anyone
  - id: homes
    path: /home/{user}/**
    allow: authenticated
  - id: names
    path: /names/**
    allow: authenticated
  - id: reports
    path: /reports/**
    allow: group:finance
  - id: slow
    path: /slow/**
    allow: authenticated
    limit_rate: 1k
  - id: hidden
    path: /hidden/**
    deny: anyone
    refusal: 404
`

/** The scenario gateway's Redis command timeout: a hung Redis must be answered within it. */
export const SCENARIO_COMMAND_TIMEOUT_MS = 300

export const X_ACCEL_REDIS_CONFIG = `
server:
  log_level: info
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
  internal_prefix: _protected
session:
  store: redis
  cookie_name: sid
  redis:
    url: \${REDIS_URL}
    key_prefix: "sess:"
    connect_timeout_ms: 500
    command_timeout_ms: ${SCENARIO_COMMAND_TIMEOUT_MS}
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`

/** X_ACCEL_REDIS_CONFIG (or a config with its Redis block) with the session client cache on or off. */
export function withClientCache(configYaml: string, on: boolean): string {
  const config = configYaml.replace(
    `    command_timeout_ms: ${SCENARIO_COMMAND_TIMEOUT_MS}\n`,
    `    command_timeout_ms: ${SCENARIO_COMMAND_TIMEOUT_MS}\n    client_cache: ${on}\n`,
  )
  if (!config.includes(`client_cache: ${on}`))
    throw new Error('the scenario config changed: update withClientCache')
  return config
}

/** What every scenario offers, whichever servers it runs. */
export interface ScenarioBase {
  gateway: RunningGateway
  filesRoot: string
  /** The bytes of every file in the tree, by relative path. */
  files: Record<string, Buffer>
  /** A file outside the served root that nobody may ever get. */
  outsideSecret: Buffer
  /** The temp folder holding `secret.txt` (outsideSecret), a sibling of the files root. */
  outsideDir: string
  /** Logs `user` in (password `pw-<user>`) and returns the `sid=...` cookie pair. */
  login(user: string): Promise<string>
  stop(): Promise<void>
}

/** nginx, Redis and the gateway in x-accel mode. */
export interface Scenario extends ScenarioBase {
  redis: RedisServer
  nginx: NginxServer
}

export interface ScenarioOptions {
  /**
   * Runs on the file tree after the standard files are written and before any server starts: for
   * links, FIFOs and names only a Buffer path can spell. Files it adds are not in `files`.
   */
  prepareTree?: (root: string) => Promise<void> | void
  /** More ACL files, by name, loaded after SCENARIO_ACL's `10-test.yaml`. */
  aclFiles?: Record<string, string>
  /** More environment for the gateway's config (link keys, the admin token). */
  env?: Record<string, string>
  /** Edge links on in nginx, with the keys in this JSON file. */
  edgeLinks?: { keysFile: string }
}

export interface ScenarioTree {
  root: string
  files: Record<string, Buffer>
  outsideDir: string
  outsideSecret: Buffer
  cleanup(): Promise<void>
}

/** The scenario's file tree and the secret beside it, shared by every delivery mode. */
export async function makeScenarioTree(prepareTree?: ScenarioOptions['prepareTree']): Promise<ScenarioTree> {
  const files: Record<string, Buffer> = {
    'public/hello.txt': Buffer.from('hello, world\n'),
    'reports/q1.pdf': randomBytes(100_000),
    'home/alice/own.txt': Buffer.from('alice only\n'),
    'home/bob/own.txt': Buffer.from('bob only\n'),
    'hidden/secret.txt': Buffer.from('hidden\n'),
    'slow/big.bin': randomBytes(3000),
  }
  for (const name of HOSTILE_NAMES) files[`names/${name}`] = Buffer.from(`contents of ${name}\n`)
  const tree = await makeFileTree(files)
  const outsideDir = await mkdtemp(join(tmpdir(), 'gw-outside-'))
  const outsideSecret = Buffer.from(`outside secret ${randomBytes(8).toString('hex')}\n`)
  const cleanup = async () => {
    await tree.cleanup()
    await rm(outsideDir, { recursive: true, force: true })
  }
  try {
    await writeFile(join(outsideDir, 'secret.txt'), outsideSecret)
    await prepareTree?.(tree.root)
  } catch (err) {
    await cleanup()
    throw err
  }
  return { root: tree.root, files, outsideDir, outsideSecret, cleanup }
}

/** users.yaml for alice (group finance) and bob (no group); passwords are `pw-<id>`. */
export async function scenarioUsersYaml(): Promise<string> {
  return `users:
  - id: alice
    password: ${await hashPassword('pw-alice', CHEAP_COST)}
    groups: [finance]
  - id: bob
    password: ${await hashPassword('pw-bob', CHEAP_COST)}
`
}

export async function startScenario(
  configYaml = X_ACCEL_REDIS_CONFIG,
  options: ScenarioOptions = {},
): Promise<Scenario> {
  const tree = await makeScenarioTree(options.prepareTree)
  const { files, outsideDir, outsideSecret } = tree
  const usersYaml = await scenarioUsersYaml()
  const redis = await startRedis()
  let gateway: RunningGateway | undefined
  let nginx: NginxServer | undefined
  try {
    gateway = await startGateway({
      configYaml,
      aclFiles: { '10-test.yaml': SCENARIO_ACL, ...options.aclFiles },
      usersYaml,
      filesRoot: tree.root,
      redisUrl: redis.url,
      ...(options.env ? { env: options.env } : {}),
    })
    nginx = await startNginx({
      gatewayPort: gateway.port,
      filesRoot: tree.root,
      ...(options.edgeLinks ? { edgeLinks: options.edgeLinks } : {}),
    })
  } catch (err) {
    await gateway?.stop()
    await redis.stop()
    await tree.cleanup()
    throw err
  }
  const n = nginx
  const g = gateway
  return {
    redis,
    gateway: g,
    nginx: n,
    filesRoot: tree.root,
    files,
    outsideSecret,
    outsideDir,
    login: (user: string) => loginAt(n.baseUrl, user),
    async stop() {
      await n.stop()
      await g.stop()
      await redis.stop()
      await tree.cleanup()
    },
  }
}

/** Percent-encodes each segment, as a browser would send a link to the file. */
export function downloadPath(relative: string): string {
  return `/download/${relative.split('/').map(encodeURIComponent).join('/')}`
}

/** Logs `user` in at `baseUrl` (password `pw-<user>`); the session cookie as `name=value`. */
export async function loginAt(baseUrl: string, user: string): Promise<string> {
  const res = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: `pw-${user}` }),
  })
  if (res.status !== 200) throw new Error(`login ${user}: ${res.status}`)
  return (res.headers.get('set-cookie') ?? '').split(';')[0] as string
}
