// Starts the real gateway in this process on a free loopback port, from a config written the way an
// operator would write it (YAML files in a temp folder), with the real stores. Tests keep access to
// the store and to every log line the gateway wrote.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { AclHolder } from '../../src/acl/index.js'
import { buildApp } from '../../src/app.js'
import type { GatewayConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { loadUsersFile } from '../../src/login/users-file.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import type { SessionStore } from '../../src/session/session-store.js'

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789'

export interface GatewayOptions {
  /** YAML text of the gateway config; `${FILES_ROOT}` and `${REDIS_URL}` are filled in. */
  configYaml: string
  /** ACL files by name, written into acl.d/. */
  aclFiles: Record<string, string>
  /** users.yaml text when login is enabled. */
  usersYaml?: string
  filesRoot: string
  redisUrl?: string
  env?: Record<string, string>
}

export interface RunningGateway {
  port: number
  baseUrl: string
  app: FastifyInstance
  store: SessionStore
  acl: AclHolder
  config: GatewayConfig
  dir: string
  /** Every JSON line the gateway logged so far. */
  logs(): Record<string, unknown>[]
  logText(): string
  stop(): Promise<void>
}

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-config-'))
  await mkdir(join(dir, 'acl.d'))
  for (const [name, text] of Object.entries(o.aclFiles)) await writeFile(join(dir, 'acl.d', name), text)
  if (o.usersYaml) await writeFile(join(dir, 'users.yaml'), o.usersYaml)
  const fill: Record<string, string> = { FILES_ROOT: o.filesRoot, REDIS_URL: o.redisUrl ?? '' }
  const yaml = o.configYaml.replace(
    /\$\{(FILES_ROOT|REDIS_URL)\}/g,
    (_, name: string) => fill[name] as string,
  )
  const configFile = join(dir, 'gateway.yaml')
  await writeFile(configFile, yaml)
  const config = parseConfig(configFile, yaml, { GATEWAY_SESSION_SECRETS: TEST_SECRET, ...o.env })

  let captured = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      captured += chunk.toString()
      cb()
    },
  })
  const log = pino({ level: 'info' }, sink)
  const acl = new AclHolder(
    config.acl.paths,
    { defaultEffect: config.acl.defaultEffect, defaults: config.acl.defaults },
    log,
  )
  const first = await acl.load()
  if (!first.ok) throw new Error(`test ACL does not load: ${JSON.stringify(first.errors)}`)
  if (config.acl.watch) acl.watch()
  let store: SessionStore
  if (config.session.store === 'redis') {
    const redis = new RedisSessionStore({ ...config.session.redis, onError: () => {} })
    await redis.connect()
    store = redis
  } else {
    store = new MemorySessionStore()
  }
  const users =
    config.login.enabled && config.login.usersFile ? loadUsersFile(config.login.usersFile) : undefined
  const app = await buildApp(config, {
    store,
    acl,
    realFilesRoot: await realpath(o.filesRoot),
    users,
    logger: log,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    store,
    acl,
    config,
    dir,
    logs: () =>
      captured
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => captured,
    async stop() {
      acl.close()
      await app.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
