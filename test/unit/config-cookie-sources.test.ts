// The Flask, Rails and Django session sources in the config: their blocks' defaults, secrets from
// the environment only (and never in the logged config), and the rules that refuse a start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { redactedConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { createSessionSource } from '../../src/session/sources/create.js'

const withSource = (source: string, extra = '') => `
delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: memory
  source: ${source}
${extra}
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

t.test("flask: the defaults are Flask's, the keys come from the environment, newest first", async (t) => {
  const c = parseConfig('/x.yaml', withSource('flask'), { GATEWAY_FLASK_SECRET_KEYS: 'new-key, old-key' })
  t.same(c.session.flask, {
    cookieName: 'session',
    secretKeys: ['new-key', 'old-key'],
    maxAgeSeconds: 31 * 24 * 3600,
    salt: 'cookie-session',
    userField: '_user_id',
    groupsField: 'groups',
  })
  t.same(c.session.rails.secretKeyBases, [], "another source's secrets are not read")
})

t.test('rails and django: defaults, and keys from a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cookie-sources-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'k'), '# current first\nkey-one\nkey-two\n')
  const rails = parseConfig('/x.yaml', withSource('rails'), {
    GATEWAY_RAILS_SECRET_KEY_BASE_FILE: join(dir, 'k'),
  })
  t.same(rails.session.rails, {
    cookieName: '_app_session',
    secretKeyBases: ['key-one', 'key-two'],
    keyDigests: ['sha256', 'sha1'],
    requirePurpose: true,
    userField: 'warden.user.user.key',
    userShape: 'devise',
    groupsField: 'groups',
  })
  const django = parseConfig('/x.yaml', withSource('django'), {
    GATEWAY_DJANGO_SECRET_KEYS_FILE: join(dir, 'k'),
  })
  t.match(django.session.django, {
    backend: 'signed_cookies',
    cookieName: 'sessionid',
    secretKeys: ['key-one', 'key-two'],
    maxAgeSeconds: 14 * 24 * 3600,
    legacySha1: false,
    userField: '_auth_user_id',
    groupsField: 'groups',
    answerCacheMs: 0,
    auth: { enabled: false, groups: true, requireActive: true, verifySessionHash: true, userColumn: 'id' },
    cache: { keyPrefix: '', version: 1, redisDb: 0 },
  })
})

t.test('a framework source without its secret does not start', async (t) => {
  for (const [source, variable] of [
    ['flask', 'GATEWAY_FLASK_SECRET_KEYS'],
    ['rails', 'GATEWAY_RAILS_SECRET_KEY_BASE'],
    ['django', 'GATEWAY_DJANGO_SECRET_KEYS'],
  ] as const) {
    t.match(problemsOf(withSource(source)), [{ field: variable, message: /required/ }], source)
    t.match(
      problemsOf(withSource(source), { [`${variable}_FILE`]: '/nonexistent/keys' }),
      [{ field: `${variable}_FILE`, message: /cannot read/ }],
      `${source}: an unreadable file`,
    )
  }
})

t.test('the built-in login with a framework source does not start', async (t) => {
  const text = `${withSource('flask')}login:\n  enabled: true\n  users_file: users.yaml\n`
  t.match(problemsOf(text, { GATEWAY_FLASK_SECRET_KEYS: 'k' }), [
    { field: 'login.enabled', message: /connect/, line: 12 },
  ])
})

t.test('django server-side backends: the database named, its password kept out of logs', async (t) => {
  const keys = { GATEWAY_DJANGO_SECRET_KEYS: 'k' }
  t.match(problemsOf(withSource('django', '  django:\n    backend: db'), keys), [
    { field: 'session.django.database.name', message: /required/, line: 9 },
    { field: 'session.django.database.user', message: /required/, line: 9 },
  ])
  t.match(
    problemsOf(withSource('django', '  django:\n    auth:\n      enabled: true'), keys),
    [{ field: 'session.django.auth.enabled', message: /db, cache and cached_db/ }],
    'the auth tables need a server-side backend',
  )
  t.same(
    problemsOf(withSource('django', '  django:\n    backend: cache\n    auth: { enabled: true }'), keys).map(
      (p) => p.field,
    ),
    ['session.django.database.name', 'session.django.database.user'],
    'cache with the auth tables needs the database too',
  )
  t.match(
    problemsOf(
      withSource(
        'django',
        '  redis:\n    mode: cluster\n    nodes: ["127.0.0.1:7000"]\n  django:\n    backend: cached_db\n    database: { url: "postgres://app@db/app" }',
      ),
      keys,
    ),
    [{ field: 'session.django.backend', message: /mode cluster is not supported/ }],
    'the cache backends read one Redis server, not a cluster',
  )
  t.match(
    problemsOf(withSource('django', '  django:\n    database: { user_table: "auth_user; DROP" }'), keys),
    [{ field: 'session.django.database.user_table' }],
    'table names are identifiers only',
  )
  const c = parseConfig(
    '/x.yaml',
    withSource(
      'django',
      '  django:\n    backend: cached_db\n    database: { url: "postgres://app:inline@db/app" }',
    ),
    { ...keys, GATEWAY_DJANGO_DATABASE_PASSWORD: 'pg-secret-value' },
  )
  t.equal(c.session.django.database.password, 'pg-secret-value')
  const logged = JSON.stringify(redactedConfig(c))
  t.notOk(logged.includes('pg-secret-value'), 'the password is not logged')
  t.notOk(logged.includes('inline'), 'nor one in the URL')
  const source = createSessionSource(c.session, { store: new MemorySessionStore() })
  t.equal(source.name, 'django')
  await source.close()
})

t.test('unknown fields are refused by the schema', async (t) => {
  t.match(
    problemsOf(withSource('rails', '  rails:\n    key_digests: [md5]'), {
      GATEWAY_RAILS_SECRET_KEY_BASE: 'k',
    }),
    [{ field: 'session.rails.key_digests[0]' }],
  )
})

t.test('the logged config never shows a framework secret', async (t) => {
  for (const [source, variable] of [
    ['flask', 'GATEWAY_FLASK_SECRET_KEYS'],
    ['rails', 'GATEWAY_RAILS_SECRET_KEY_BASE'],
    ['django', 'GATEWAY_DJANGO_SECRET_KEYS'],
  ] as const) {
    const c = parseConfig('/x.yaml', withSource(source), { [variable]: 'the-secret-xyzzy' })
    const logged = JSON.stringify(redactedConfig(c))
    t.notMatch(logged, /xyzzy/, `${source}: redacted`)
    t.match(logged, /\[1 redacted\]/, `${source}: counted`)
  }
})

t.test('create.ts builds the source the config names', async (t) => {
  const store = new MemorySessionStore()
  t.teardown(() => store.close())
  for (const [source, variable] of [
    ['flask', 'GATEWAY_FLASK_SECRET_KEYS'],
    ['rails', 'GATEWAY_RAILS_SECRET_KEY_BASE'],
    ['django', 'GATEWAY_DJANGO_SECRET_KEYS'],
  ] as const) {
    const c = parseConfig('/x.yaml', withSource(source), { [variable]: 'k' })
    const built = createSessionSource(c.session, { store })
    t.equal(built.name, source)
    t.match(built.identify(undefined), { ok: false, why: 'no-cookie' })
  }
})
