import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import t from 'tap'
import { redactedConfig } from '../../src/config/gateway-config.js'
import { loadConfig, parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'

const SECRET = 'a-long-enough-secret-for-the-tests-000'
const minimal = `
delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: memory
acl:
  paths: [acl.d]
`

function problemsOf(text: string, env: Record<string, string> = {}) {
  try {
    parseConfig('/etc/gw/gateway.yaml', text, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('config: the shipped example config loads', async (t) => {
  const config = loadConfig({ GATEWAY_CONFIG: 'config/gateway.yaml' }, resolve('.'))
  t.equal(config.delivery.mode, 'direct')
  t.equal(config.session.store, 'memory')
  t.equal(config.login.enabled, true)
  t.ok(Object.isFrozen(config.session), 'frozen')
})

t.test('config: defaults are filled and relative paths resolve against the config file', async (t) => {
  const c = parseConfig('/etc/gw/gateway.yaml', minimal, {})
  t.equal(c.server.port, 3000)
  t.equal(c.delivery.internalPrefix, '_protected')
  t.equal(c.delivery.routePrefix, '/download/')
  t.same(c.acl.paths, ['/etc/gw/acl.d'])
  t.equal(c.acl.defaultEffect, 'deny')
  t.same(c.session.userIdField, ['user', 'id'])
  t.equal(c.acl.defaults.cacheControl, 'private, no-store')
})

t.test('config: the environment overrides host and port and selects the file', async (t) => {
  const c = parseConfig('/x.yaml', minimal, { GATEWAY_HOST: '0.0.0.0', GATEWAY_PORT: '8080' })
  t.equal(c.server.host, '0.0.0.0')
  t.equal(c.server.port, 8080)
  t.same(
    problemsOf(minimal, { GATEWAY_PORT: 'eighty' }).map((p) => p.field),
    ['GATEWAY_PORT'],
  )
})

t.test('config: every problem is reported at once with file, line and field', async (t) => {
  const text = `server:
  port: "x"
  colour: blue
delivery:
  mode: ftp
  files_root: /srv
session:
  store: memory
  cookie_name: "bad name"
acl:
  paths: []
`
  const problems = problemsOf(text)
  const byField = Object.fromEntries(problems.map((p) => [p.field, p]))
  t.equal(byField['server.port']?.line, 2)
  t.equal(byField['server.colour']?.line, 3)
  t.equal(byField['server.colour']?.message, 'unknown field')
  t.equal(byField['delivery.mode']?.line, 5)
  t.match(byField['delivery.mode']?.message, /must be one of "x-accel", "direct"/)
  t.equal(byField['session.cookie_name']?.line, 9)
  t.equal(byField['acl.paths']?.line, 11)
  t.ok(problems.every((p) => p.file === '/etc/gw/gateway.yaml'))
})

t.test('config: a missing required section names the field', async (t) => {
  const problems = problemsOf('delivery:\n  mode: direct\n  files_root: x\nsession:\n  store: memory\n')
  t.same(
    problems.map((p) => p.field),
    ['acl'],
  )
})

t.test('config: a YAML syntax error names its line', async (t) => {
  const problems = problemsOf('delivery:\n  mode: [direct\nsession: {}\n')
  t.equal(problems[0]?.field, '(syntax)')
  t.ok((problems[0]?.line ?? 0) >= 2)
})

t.test('config: secrets come from the environment or a secrets file, never from the config', async (t) => {
  const redis = minimal.replace('store: memory', 'store: redis')
  t.match(
    problemsOf(redis).map((p) => p.field),
    ['GATEWAY_SESSION_SECRETS'],
  )
  t.same(
    parseConfig('/x.yaml', redis, { GATEWAY_SESSION_SECRETS: `${SECRET}, ${SECRET}b` }).session.secrets,
    [SECRET, `${SECRET}b`],
  )
  const dir = mkdtempSync(join(tmpdir(), 'gw-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 's'), `# newest first\n${SECRET}\n`)
  t.same(parseConfig('/x.yaml', redis, { GATEWAY_SESSION_SECRETS_FILE: join(dir, 's') }).session.secrets, [
    SECRET,
  ])
  t.match(problemsOf(redis, { GATEWAY_SESSION_SECRETS: 'short' })[0]?.message, /at least 32/)
  t.match(
    problemsOf(redis, { GATEWAY_SESSION_SECRETS_FILE: join(dir, 'missing') })[0]?.field,
    'GATEWAY_SESSION_SECRETS_FILE',
  )
})

t.test('config: the embedded store makes up a secret when none is given', async (t) => {
  const c = parseConfig('/x.yaml', minimal, {})
  t.equal(c.session.secretsGenerated, true)
  t.ok((c.session.secrets[0] ?? '').length >= 32)
})

t.test('config: login needs a users file', async (t) => {
  const problems = problemsOf(`${minimal}login:\n  enabled: true\n`)
  t.equal(problems[0]?.field, 'login.users_file')
  t.equal(problems[0]?.line, 10)
})

t.test('config: a missing config file is a clear error', async (t) => {
  t.throws(() => loadConfig({ GATEWAY_CONFIG: 'no/such/file.yaml' }, '/'), ConfigError)
})

const callbackConfig = `
delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: memory
  source: callback
  callback:
    url: http://app.internal/auth/whoami
    cookie_names: [laravel_session]
acl:
  paths: [acl.d]
`

t.test('config: the callback source, its defaults and its token', async (t) => {
  const token = 'a-callback-token-long-enough-0123456789'
  const c = parseConfig('/etc/gw/gateway.yaml', callbackConfig, { GATEWAY_CALLBACK_TOKEN: token })
  t.same(c.session.callback, {
    url: 'http://app.internal/auth/whoami',
    cookieNames: ['laravel_session'],
    timeoutMs: 1000,
    cacheTtlMs: 5000,
    cacheMaxEntries: 10000,
    userField: ['user'],
    groupsField: ['groups'],
    tokenHeader: 'x-gateway-token',
    token,
  })
  const logged = JSON.stringify(redactedConfig(c))
  t.notMatch(logged, token, 'the token never reaches a log')
  const withCredentials = callbackConfig.replace('http://app.internal', 'http://gw:pw-in-url@app.internal')
  t.notMatch(JSON.stringify(redactedConfig(parseConfig('/x.yaml', withCredentials, {}))), 'pw-in-url')
  t.equal(parseConfig('/x.yaml', minimal, {}).session.callback, undefined, 'absent for other sources')
  t.same(
    problemsOf(callbackConfig, { GATEWAY_CALLBACK_TOKEN: 'short' }).map((p) => p.field),
    ['GATEWAY_CALLBACK_TOKEN'],
  )
})

t.test('config: the callback source needs its url and cookie names', async (t) => {
  const noUrl = callbackConfig.replace('    url: http://app.internal/auth/whoami\n', '')
  t.same(problemsOf(noUrl), [
    {
      file: '/etc/gw/gateway.yaml',
      line: 7,
      field: 'session.callback.url',
      message: 'required when session.source is callback',
    },
  ])
  const noCookies = callbackConfig.replace('    cookie_names: [laravel_session]\n', '')
  t.same(
    problemsOf(noCookies).map((p) => p.field),
    ['session.callback.cookie_names'],
  )
  t.same(
    problemsOf(callbackConfig.replace('http://app.internal', 'ftp://app.internal')).map((p) => p.field),
    ['session.callback.url'],
  )
})

t.test('config: the built-in login only goes with connect sessions', async (t) => {
  const withLogin = `${callbackConfig}login:\n  enabled: true\n  users_file: users.yaml\n`
  const problems = problemsOf(withLogin)
  t.same(
    problems.map((p) => [p.field, p.line]),
    [['login.enabled', 14]],
  )
  t.match(problems[0]?.message, /built-in login writes connect sessions/)
})
