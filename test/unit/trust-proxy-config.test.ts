// server.trust_proxy and GATEWAY_TRUST_PROXY: what is accepted, what Fastify makes of it, and the
// start-up error (file, line, field) for everything else. Also the cookie and login keys that
// come with it.
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError, type ConfigProblem } from '../../src/config/problems.js'

const FILE = '/etc/gw/gateway.yaml'

function withServer(serverLines: string, rest = ''): string {
  return `server:
  port: 3000
${serverLines}
delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: memory
${rest}acl:
  paths: [acl.d]
`
}

function load(text: string, env: Record<string, string> = {}): GatewayConfig {
  return parseConfig(FILE, text, env)
}

function problemsOf(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    load(text, env)
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('trust_proxy: off unless set', async (t) => {
  t.equal(load(withServer('')).server.trustProxy, false)
  t.equal(load(withServer('  trust_proxy: false')).server.trustProxy, false)
  t.equal(load(withServer('  trust_proxy: true')).server.trustProxy, true)
})

t.test('trust_proxy: addresses, networks and named ranges, as a list or one string', async (t) => {
  t.same(
    load(withServer('  trust_proxy: [127.0.0.1, 10.0.0.0/8, "fc00::/7", ::1, loopback, uniquelocal]')).server
      .trustProxy,
    ['127.0.0.1', '10.0.0.0/8', 'fc00::/7', '::1', 'loopback', 'uniquelocal'],
  )
  t.same(load(withServer('  trust_proxy: "127.0.0.1, 172.16.0.0/12"')).server.trustProxy, [
    '127.0.0.1',
    '172.16.0.0/12',
  ])
  t.same(load(withServer('  trust_proxy: linklocal')).server.trustProxy, ['linklocal'])
})

t.test('trust_proxy: every accepted form is one Fastify compiles', async (t) => {
  const accepted = load(
    withServer(
      '  trust_proxy: [127.0.0.1, 0.0.0.0/1, 10.0.0.0/8, "::/1", "fe80::/10", "2001:db8::/128", ::ffff:10.1.2.3, loopback]',
    ),
  ).server.trustProxy
  const app = Fastify({ trustProxy: [...(accepted as string[])] })
  app.get('/', async (request) => ({ protocol: request.protocol }))
  const res = await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })
  t.same(res.json(), { protocol: 'https' }, 'the loopback peer is trusted')
  await app.close()
})

t.test('trust_proxy: a hop count is refused with the reason and what to write instead', async (t) => {
  const [problem] = problemsOf(withServer('  trust_proxy: 1'))
  t.match(problem, {
    file: FILE,
    line: 3,
    field: 'server.trust_proxy',
    message: /hop count.*directly.*list the proxy addresses/,
  })
})

t.test('trust_proxy: a bad list entry is named with its own line', async (t) => {
  const text = withServer('  trust_proxy:\n    - 127.0.0.1\n    - nginx\n')
  t.match(problemsOf(text), [
    { file: FILE, line: 5, field: 'server.trust_proxy[1]', message: /"nginx" is not an IP address/ },
  ])
  t.match(problemsOf(withServer('  trust_proxy: [10.0.0.0/33]')), [
    { field: 'server.trust_proxy[0]', message: /prefix length must be 1 to 32/ },
  ])
  t.match(problemsOf(withServer('  trust_proxy: [0.0.0.0/0]')), [{ message: /1 to 32 \(true trusts every/ }])
  t.match(problemsOf(withServer('  trust_proxy: ["fc00::/129"]')), [{ message: /1 to 128/ }])
  t.match(problemsOf(withServer('  trust_proxy: [10.0.0.0/8/8]')), [{ message: /not an IP address/ }])
  t.match(problemsOf(withServer('  trust_proxy: ["fe80::1%eth0"]')), [{ message: /not an IP address/ }])
  t.match(problemsOf(withServer('  trust_proxy: [1]')), [
    { field: 'server.trust_proxy[0]', message: 'must be a string' },
  ])
})

t.test('trust_proxy: an empty list or another type is refused', async (t) => {
  t.match(problemsOf(withServer('  trust_proxy: []')), [
    { field: 'server.trust_proxy', message: /write false/ },
  ])
  t.match(problemsOf(withServer('  trust_proxy: ""')), [{ field: 'server.trust_proxy' }])
  t.match(problemsOf(withServer('  trust_proxy: { nginx: 1 }')), [
    { line: 3, field: 'server.trust_proxy', message: /true, false, or a list/ },
  ])
})

t.test('trust_proxy: GATEWAY_TRUST_PROXY overrides the file', async (t) => {
  const file = withServer('  trust_proxy: [127.0.0.1]')
  t.same(load(file, { GATEWAY_TRUST_PROXY: '10.0.0.0/8, ::1' }).server.trustProxy, ['10.0.0.0/8', '::1'])
  t.equal(load(file, { GATEWAY_TRUST_PROXY: 'false' }).server.trustProxy, false)
  t.equal(load(withServer(''), { GATEWAY_TRUST_PROXY: 'true' }).server.trustProxy, true)
  t.same(load(file, { GATEWAY_TRUST_PROXY: '' }).server.trustProxy, ['127.0.0.1'], 'empty means unset')
  t.match(problemsOf(file, { GATEWAY_TRUST_PROXY: '2' }), [
    { file: 'environment', field: 'GATEWAY_TRUST_PROXY', message: /hop count/ },
  ])
  t.match(problemsOf(file, { GATEWAY_TRUST_PROXY: '127.0.0.1,proxy.local' }), [
    { field: 'GATEWAY_TRUST_PROXY', message: /"proxy.local" is not an IP address/ },
  ])
  // The environment wins, so a broken file value under a good override does not stop start-up.
  t.same(load(withServer('  trust_proxy: 1'), { GATEWAY_TRUST_PROXY: '127.0.0.1' }).server.trustProxy, [
    '127.0.0.1',
  ])
})

t.test('session.cookie.secure: auto by default, true, false or auto', async (t) => {
  t.equal(load(withServer('')).session.cookie.secure, 'auto')
  for (const value of [true, false, 'auto']) {
    const c = load(withServer('', `  cookie:\n    secure: ${value}\n`))
    t.equal(c.session.cookie.secure, value)
  }
  t.match(problemsOf(withServer('', '  cookie:\n    secure: yes-please\n')), [
    { line: 10, field: 'session.cookie.secure', message: /must be one of true, false, "auto"/ },
  ])
})

t.test('login.allow_published_password: off unless a config says so', async (t) => {
  const login = (extra: string) => `  enabled: true\n  users_file: users.yaml\n${extra}`
  const text = (extra: string) => withServer('', '').replace('acl:', `login:\n${login(extra)}acl:`)
  t.equal(load(text('')).login.allowPublishedPassword, false)
  t.equal(load(text('  allow_published_password: true\n')).login.allowPublishedPassword, true)
})

t.test('the shipped configs: production trusts private networks, development marks itself', async (t) => {
  const production = parseConfig(
    'config/gateway.production.yaml',
    readFileSync('config/gateway.production.yaml', 'utf8'),
    { GATEWAY_SESSION_SECRETS: 'x'.repeat(40) },
  )
  t.same(production.server.trustProxy, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])
  t.equal(production.session.cookie.secure, true)
  t.equal(production.login.allowPublishedPassword, false)
  t.match(production.login.usersFile, /config\/users\.production\.yaml$/)
  const development = parseConfig('config/gateway.yaml', readFileSync('config/gateway.yaml', 'utf8'), {})
  t.equal(development.login.allowPublishedPassword, true)
  t.equal(development.server.trustProxy, false)
})
