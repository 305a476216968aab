// session.source: php in the config: PHP's own defaults, the folder the files handler needs, and
// what the gateway refuses at load (the built-in login with a session it would never read back).
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'

const base = (php: string, extra = '') => `delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: redis
  source: php
${php}acl:
  paths: [acl.d]
${extra}`

function problemsOf(text: string) {
  try {
    parseConfig('/etc/gw/gateway.yaml', text, {})
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('php: PHP defaults, save_path resolved against the config folder, no secret needed', async (t) => {
  const c = parseConfig('/etc/gw/gateway.yaml', base('  php:\n    save_path: sessions\n'), {})
  t.same(c.session.php, {
    cookieName: 'PHPSESSID',
    saveHandler: 'files',
    savePath: '/etc/gw/sessions',
    serializeHandler: 'php',
    gcMaxLifetimeSeconds: 1440,
    readTimeoutMs: 500,
    sidLength: 32,
    sidBitsPerCharacter: 4,
    keyPrefix: 'PHPREDIS_SESSION:',
    userIdKey: ['user_id'],
    groupsKey: ['roles'],
    objects: 'inert',
  })
  t.equal(c.session.source, 'php')
})

t.test('php: the redis handler needs no save_path and takes nested keys', async (t) => {
  const c = parseConfig(
    '/x.yaml',
    base(
      '  php:\n    save_handler: redis\n    key_prefix: "app:"\n    user_id_key: auth.id\n    groups_key: auth.roles\n    objects: refuse\n',
    ),
    {},
  )
  t.equal(c.session.php.saveHandler, 'redis')
  t.equal(c.session.php.savePath, undefined)
  t.same(c.session.php.userIdKey, ['auth', 'id'])
  t.equal(c.session.php.objects, 'refuse')
})

t.test('php: the files handler without save_path names the field and the line', async (t) => {
  const problems = problemsOf(base('  php:\n    save_handler: files\n'))
  t.same(
    problems.map((p) => [p.field, p.line]),
    [['session.php.save_path', 8]],
  )
  t.match(problems[0]?.message, /required with the files save handler/)
})

t.test("php: PHP's N;/path form is refused with a reason", async (t) => {
  const problems = problemsOf(base('  php:\n    save_path: "2;/var/lib/php/sessions"\n'))
  t.equal(problems[0]?.field, 'session.php.save_path')
  t.equal(problems[0]?.line, 8)
  t.match(problems[0]?.message, /not supported/)
})

t.test('php: values outside PHP range are schema errors naming the field', async (t) => {
  const problems = problemsOf(
    base('  php:\n    save_path: s\n    sid_length: 300\n    sid_bits_per_character: 3\n    objects: run\n'),
  )
  t.same(problems.map((p) => p.field).sort(), [
    'session.php.objects',
    'session.php.sid_bits_per_character',
    'session.php.sid_length',
  ])
})

t.test('php: the built-in login is refused, naming login.enabled and its line', async (t) => {
  const problems = problemsOf(
    base('  php:\n    save_path: s\n', 'login:\n  enabled: true\n  users_file: u.yaml\n'),
  )
  t.same(
    problems.map((p) => [p.field, p.line]),
    [['login.enabled', 12]],
  )
  t.match(problems[0]?.message, /writes connect sessions/)
  t.ok(parseConfig('/x.yaml', base('  php:\n    save_path: s\n', 'login:\n  enabled: false\n'), {}))
})
