// There is no Docker engine in CI, so the Dockerfile and the compose file are kept correct by
// construction: these checks tie them to the files they name and to the nginx template.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { parseConfig } from '../../src/config/load-config.js'
import { atLeast } from '../../src/deploy/nginx-check.js'
import { AUDIT_LOG_FORMAT } from '../../src/ops/audit.js'
import { renderTemplate, templateVariables } from '../harness/nginx.js'
import { type Directive, lintNginxConfig, parseNginxConfig } from '../harness/nginx-lint.js'
import { freePort } from '../harness/ports.js'
import { sleep, spawnManaged } from '../harness/process.js'
import { ping } from '../harness/redis.js'

const compose = parse(readFileSync('docker-compose.yml', 'utf8'))
const dockerfile = readFileSync('Dockerfile', 'utf8')
const template = readFileSync('nginx/templates/download.conf.template', 'utf8')

t.test('deployment: compose gives nginx every template variable, and filters envsubst to them', async (t) => {
  const env = compose.services.nginx.environment as Record<string, string>
  const variables = templateVariables(template)
  for (const name of variables) t.ok(env[name], `${name} is set`)
  const filter = new RegExp(env.NGINX_ENVSUBST_FILTER as string)
  for (const name of variables) t.ok(filter.test(name), `${name} passes the filter`)
  t.notOk(filter.test('host'), 'nginx variables do not')
  t.equal(env.GATEWAY_SERVERS, 'server gateway:3000 resolve;')
})

/** The directives named `name` anywhere in `tree`. */
function find(tree: Directive[], name: string): Directive[] {
  return tree.flatMap((d) => [...(d.name === name ? [d] : []), ...find(d.block ?? [], name)])
}

t.test('deployment: nginx keeps resolving the gateway service, so scaled gateways are found', async (t) => {
  const env = compose.services.nginx.environment as Record<string, string>
  // What the image's envsubst step makes of the template: the download server, trap-free.
  const rendered = renderTemplate(template, env)
  t.same(lintNginxConfig(rendered, { internalPrefix: env.INTERNAL_PREFIX }), [])
  const upstream = find(parseNginxConfig(rendered), 'upstream').find((d) => d.args[0] === 'gateway')
  const body = upstream?.block ?? []
  t.same(body.find((d) => d.name === 'server')?.args, ['gateway:3000', 'resolve'])
  t.ok(
    body.some((d) => d.name === 'zone'),
    '`resolve` needs the group in a shared memory zone',
  )
  // ... and a resolver at the http level of the main config compose mounts: Docker's own DNS.
  const http = parseNginxConfig(readFileSync('nginx/nginx.conf', 'utf8')).find((d) => d.name === 'http')
  const resolver = http?.block?.find((d) => d.name === 'resolver')
  t.equal(resolver?.args[0], '127.0.0.11')
  t.ok(
    resolver?.args.some((a) => /^valid=\d+s$/.test(a)),
    "re-asked within seconds, not Docker's TTL",
  )
  // `resolve` on an upstream server is open-source nginx 1.27.3 and later.
  const tag = /^nginx:(\d+\.\d+(?:\.\d+)?)-/.exec(compose.services.nginx.image as string)?.[1]
  t.ok(tag && atLeast(tag.split('.').length === 2 ? `${tag}.0` : tag, [1, 27, 3]), `nginx ${tag} has resolve`)
})

t.test(
  'deployment: the gateway container is read-only, without capabilities or new privileges',
  async (t) => {
    const gateway = compose.services.gateway
    t.equal(gateway.read_only, true)
    t.same(gateway.cap_drop, ['ALL'])
    t.ok((gateway.security_opt as string[]).includes('no-new-privileges:true'))
    t.ok(
      (gateway.tmpfs as string[]).some((m) => m.startsWith('/tmp')),
      'a small writable /tmp',
    )
    for (const service of ['nginx', 'redis']) {
      t.ok(
        (compose.services[service].security_opt as string[]).includes('no-new-privileges:true'),
        `${service}: no new privileges`,
      )
    }
  },
)

t.test('deployment: Redis wants a password, and the gateway reads it from the same secret', async (t) => {
  t.same(Object.keys(compose.secrets).sort(), ['redis_password', 'session_secrets'])
  t.ok((compose.services.redis.secrets as string[]).includes('redis_password'))
  t.ok((compose.services.gateway.secrets as string[]).includes('redis_password'))
  const env = compose.services.gateway.environment as Record<string, string>
  t.equal(env.GATEWAY_REDIS_PASSWORD_FILE, '/run/secrets/redis_password')
  t.notOk(
    (compose.services.gateway.secrets as string[]).some((s) => !(s in compose.secrets)),
    'every secret is declared',
  )

  // The gateway really takes the password from that file (the production config, as compose runs it).
  const dir = mkdtempSync(join(tmpdir(), 'gw-compose-secret-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const passwordFile = join(dir, 'redis_password')
  writeFileSync(passwordFile, 'f00dfeed\n')
  const config = parseConfig(
    'config/gateway.production.yaml',
    readFileSync('config/gateway.production.yaml', 'utf8'),
    { GATEWAY_SESSION_SECRETS: 'x'.repeat(40), GATEWAY_REDIS_PASSWORD_FILE: passwordFile },
  )
  t.equal(config.session.redis?.password, 'f00dfeed')
})

t.test('deployment: the Redis command of the compose file, run for real, requires the secret', async (t) => {
  // compose turns `$$` into `$` and mounts the secret at /run/secrets; here the secret is a temp
  // file and Redis gets a free port and a temp folder, the rest is the compose file's command.
  const [shell, flag, script] = compose.services.redis.command as string[]
  t.same([shell, flag], ['sh', '-c'])
  const dir = mkdtempSync(join(tmpdir(), 'gw-compose-redis-'))
  const password = 'c0ffee'.repeat(8)
  writeFileSync(join(dir, 'redis_password'), `${password}\n`)
  const port = await freePort()
  const fromCompose = (text: string) =>
    text.replaceAll('$$', '$').replaceAll('/run/secrets/redis_password', join(dir, 'redis_password'))
  const runnable = fromCompose(script as string).replace(
    'redis-server -',
    `redis-server - --port ${port} --bind 127.0.0.1 --dir ${dir}`,
  )
  t.not(
    runnable,
    fromCompose(script as string),
    'the command starts redis-server reading its config from stdin',
  )
  const redis = spawnManaged('sh', ['-c', runnable], dir)
  t.teardown(async () => {
    await redis.stop('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 250 && !(await ping(port)); i++) await sleep(20)
  const cli = (args: string[], auth?: string) =>
    spawnSync('redis-cli', ['-p', String(port), ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...(auth ? { REDISCLI_AUTH: auth } : {}) },
    }).stdout.trim()
  t.match(cli(['ping']), /NOAUTH/, 'no password, no answer')
  t.equal(cli(['ping'], password), 'PONG', 'the secret opens it')
  // Not as an argument: Redis rewrites its process title soon after start, but until then the
  // password would be in the process list (so /proc/<pid>/cmdline cannot prove this; the text can).
  t.notMatch(script, /--requirepass/, 'the password is not on the command line')
  // The healthcheck as compose runs it, pointed at this Redis.
  const [kind, check] = compose.services.redis.healthcheck.test as string[]
  t.equal(kind, 'CMD-SHELL')
  const healthcheck = fromCompose(check as string).replace('redis-cli ping', `redis-cli -p ${port} ping`)
  t.equal(spawnSync('sh', ['-c', healthcheck]).status, 0, 'healthy with the secret')
  writeFileSync(join(dir, 'redis_password'), 'wrong\n')
  t.not(spawnSync('sh', ['-c', healthcheck]).status, 0, 'unhealthy with another password')
})

const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' })
t.test(
  'deployment: docker-compose accepts the compose file',
  { skip: dockerCompose.status === 0 ? false : 'docker-compose is not installed here' },
  async (t) => {
    const run = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '--quiet'], {
      encoding: 'utf8',
    })
    t.equal(run.status, 0, run.stderr)
  },
)

t.test('deployment: nginx includes the rendered template from where compose renders it', async (t) => {
  const env = compose.services.nginx.environment as Record<string, string>
  t.match(readFileSync('nginx/nginx.conf', 'utf8'), `include ${env.NGINX_ENVSUBST_OUTPUT_DIR}/*.conf;`)
  const mounts = compose.services.nginx.volumes as string[]
  t.ok(mounts.includes('./nginx/templates:/etc/nginx/templates:ro'))
  t.ok(
    mounts.some((m) => m.endsWith(`:${env.FILES_ROOT}:ro`)),
    'the files, read-only, at FILES_ROOT',
  )
  // The image renders templates only into a folder that exists and is writable, and it has none
  // at this path: without a mount there, nginx starts with no download server.
  t.ok(
    (compose.services.nginx.tmpfs as string[] | undefined)?.includes(env.NGINX_ENVSUBST_OUTPUT_DIR as string),
    'a writable folder where the template is rendered',
  )
})

t.test('deployment: the gateway service runs the production config, which is valid', async (t) => {
  const env = compose.services.gateway.environment as Record<string, string>
  t.equal(env.GATEWAY_CONFIG, '/app/config/gateway.production.yaml')
  t.ok(existsSync('config/gateway.production.yaml'))
  const config = parseConfig(
    'config/gateway.production.yaml',
    readFileSync('config/gateway.production.yaml', 'utf8'),
    { GATEWAY_SESSION_SECRETS: 'x'.repeat(40) },
  )
  t.equal(config.delivery.mode, 'x-accel')
  t.equal(config.session.store, 'redis')
  t.equal(config.delivery.internalPrefix, compose.services.nginx.environment.INTERNAL_PREFIX)
  t.equal(config.server.port, 3000)
  t.equal(env.GATEWAY_SESSION_SECRETS_FILE, '/run/secrets/session_secrets')
})

t.test(
  'deployment: the Dockerfile runs what the build produces, as non-root, with a healthcheck',
  async (t) => {
    t.match(dockerfile, /CMD \["node", "dist\/src\/server\.js"\]/)
    t.match(dockerfile, /RUN npm run build/)
    t.match(dockerfile, /npm ci --omit=dev/)
    t.match(dockerfile, /^USER node$/m)
    t.match(dockerfile, /HEALTHCHECK .*\n.*\/healthz/)
    t.match(dockerfile, /GATEWAY_CONFIG=\/app\/config\/gateway\.production\.yaml/)
    t.match(dockerfile, /^COPY nginx \.\/nginx$/m, 'render-nginx finds the template in the image')
    t.match(readFileSync('.dockerignore', 'utf8'), /^config\/secrets$/m, 'no secret in the image')
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8'))
    t.same(build.include, ['src'], 'the image builds src only')
  },
)

const unit = readFileSync('deploy/download-gateway.service', 'utf8')

/** The values of `key=` lines in the systemd unit. */
function unitValues(key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] as string)
}

t.test('deployment: the systemd unit runs the build as its own user, hardened', async (t) => {
  t.same(unitValues('ExecStart'), ['/usr/bin/node /opt/download-gateway/dist/src/server.js'])
  t.ok(unitValues('User')[0] || unitValues('DynamicUser')[0] === 'yes', 'not root')
  t.not(unitValues('User')[0], 'root')
  for (const [key, value] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['PrivateTmp', 'yes'],
    ['ProtectHome', 'yes'],
    ['PrivateDevices', 'yes'],
    ['CapabilityBoundingSet', ''],
    ['RestrictSUIDSGID', 'yes'],
  ] as const) {
    t.same(unitValues(key), [value], `${key}=${value}`)
  }
  t.ok(unitValues('ReadOnlyPaths').length > 0, 'read-only paths named')
  // V8's JIT needs memory that is written and then executed.
  t.notOk(unitValues('MemoryDenyWriteExecute').includes('yes'), 'Node would not start')
  // The secrets arrive as credentials, under the names the config loader reads.
  t.same(
    unitValues('Environment').filter((e) => e.includes('_FILE=')),
    ['GATEWAY_SESSION_SECRETS_FILE=%d/session_secrets', 'GATEWAY_REDIS_PASSWORD_FILE=%d/redis_password'],
  )
  t.same(
    unitValues('LoadCredential').map((c) => c.split(':')[0]),
    ['session_secrets', 'redis_password'],
  )
  t.same(unitValues('RestartPreventExitStatus'), ['2'], 'a config error is not retried forever')
})

const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
t.test(
  'deployment: systemd-analyze finds nothing to say about the unit',
  { skip: systemdAnalyze.status === 0 ? false : 'systemd-analyze is not installed here' },
  async (t) => {
    const run = spawnSync('systemd-analyze', ['verify', 'deploy/download-gateway.service'], {
      encoding: 'utf8',
    })
    t.equal(run.status, 0)
    // Unknown or misspelt keys are only warnings: any line naming the file is one.
    t.notMatch(`${run.stdout}${run.stderr}`, /download-gateway\.service/, 'no warning')
  },
)

t.test('nginx.conf writes the audit log in the very format `download-gateway audit` reads', async (t) => {
  const conf = readFileSync('nginx/nginx.conf', 'utf8')
  t.ok(conf.includes(AUDIT_LOG_FORMAT), 'the log_format line is AUDIT_LOG_FORMAT')
  t.match(conf, /^ {4}access_log \S+ download_audit;$/m, 'used at http level')
})
