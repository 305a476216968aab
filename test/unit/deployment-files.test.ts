// There is no Docker engine in CI, so the Dockerfile and the compose file are kept correct by
// construction: these checks tie them to the files they name and to the nginx template.
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { parseConfig } from '../../src/config/load-config.js'
import { templateVariables } from '../harness/nginx.js'

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
  t.equal(env.GATEWAY_UPSTREAM, 'gateway:3000')
})

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
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8'))
    t.same(build.include, ['src'], 'the image builds src only')
  },
)
