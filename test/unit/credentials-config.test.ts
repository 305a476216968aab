// The `links` and `admin` sections and their secrets from the environment.
import t from 'tap'
import { redactedConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'
import { parseDuration } from '../../src/duration.js'

const minimal = `
delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: memory
acl:
  paths: [acl.d]
`
const KEY_SECRET = 'k'.repeat(40)
const ADMIN = 'a'.repeat(40)

function problemsOf(text: string, env: Record<string, string> = {}) {
  try {
    parseConfig('/etc/gw/gateway.yaml', text, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('without keys or an admin section, links are off and there is no admin listener', async (t) => {
  const c = parseConfig('/x.yaml', minimal, {})
  t.equal(c.links.keys, null)
  t.equal(c.links.maxTtlSeconds, 30 * 86_400)
  t.equal(c.admin, null)
})

t.test('keys, max_ttl and the admin listener', async (t) => {
  const c = parseConfig('/x.yaml', `${minimal}links:\n  max_ttl: 2w\nadmin:\n  port: 3001\n`, {
    GATEWAY_LINK_KEYS: `new:${KEY_SECRET}, old:${KEY_SECRET}x`,
    GATEWAY_ADMIN_TOKEN: ADMIN,
  })
  t.equal(c.links.keys?.newest.kid, 'new')
  t.equal(c.links.keys?.byKid.size, 2)
  t.equal(c.links.maxTtlSeconds, 14 * 86_400)
  t.same(c.admin, { host: '127.0.0.1', port: 3001, token: ADMIN })
  const logged = JSON.stringify(redactedConfig(c))
  t.notOk(logged.includes(KEY_SECRET), 'no key secret in the logged config')
  t.notOk(logged.includes(ADMIN), 'no admin token in the logged config')
})

t.test(
  'bad keys, a missing admin token and a bad max_ttl are start-up errors naming the field',
  async (t) => {
    t.match(problemsOf(minimal, { GATEWAY_LINK_KEYS: 'k1:short' }), [
      { file: 'environment', field: 'GATEWAY_LINK_KEYS', message: /at least 32/ },
    ])
    t.match(problemsOf(`${minimal}admin:\n  port: 3001\n`), [{ field: 'GATEWAY_ADMIN_TOKEN' }])
    t.match(problemsOf(`${minimal}links:\n  max_ttl: forever\n`), [{ field: 'links.max_ttl', line: 10 }])
    t.match(problemsOf(`${minimal}admin:\n  host: x\n`, { GATEWAY_ADMIN_TOKEN: ADMIN }), [
      { field: 'admin.port' },
    ])
  },
)

t.test('durations', async (t) => {
  t.equal(parseDuration('90s'), 90)
  t.equal(parseDuration('7d'), 604_800)
  t.equal(parseDuration('0d'), null)
  t.equal(parseDuration('7'), null)
  t.equal(parseDuration('1y'), null)
})

t.test(
  'edge link keys: kid:secret lines or the JSON key file nginx reads, apart from share keys',
  async (t) => {
    const json = JSON.stringify({
      keys: [
        { kid: 'e2', secret: KEY_SECRET },
        { kid: 'e1', secret: `${KEY_SECRET}x` },
      ],
    })
    const dir = t.testdir({ 'edge-link-keys.json': json })
    const file = `${dir}/edge-link-keys.json`
    const fromFile = parseConfig('/x.yaml', minimal, { GATEWAY_EDGE_LINK_KEYS_FILE: file })
    t.equal(fromFile.links.edgeKeys?.newest.kid, 'e2')
    t.equal(fromFile.links.edgeKeys?.byKid.size, 2)
    t.equal(fromFile.links.keys, null, 'share links stay off')
    const fromLines = parseConfig('/x.yaml', minimal, { GATEWAY_EDGE_LINK_KEYS: `e3:${KEY_SECRET}` })
    t.equal(fromLines.links.edgeKeys?.newest.kid, 'e3')
    t.notOk(
      JSON.stringify(redactedConfig(fromFile)).includes(KEY_SECRET),
      'no edge secret in the logged config',
    )
    t.equal(parseConfig('/x.yaml', minimal, {}).links.edgeKeys, null, 'off without keys')
    const bad = (value: string) => problemsOf(minimal, { GATEWAY_EDGE_LINK_KEYS: value })
    t.match(bad('{"keys": [{"kid": "e1", "secret": "short"}]}'), [
      { field: 'GATEWAY_EDGE_LINK_KEYS', message: /at least 32/ },
    ])
    t.match(bad('{"keys": '), [{ field: 'GATEWAY_EDGE_LINK_KEYS', message: /not JSON/ }])
    t.match(bad('{"kid": "e1"}'), [{ message: /expected \{"keys"/ }])
    t.match(bad(`e1:${'é'.repeat(40)}`), [{ message: /printable ASCII/ }])
    t.match(
      bad(
        JSON.stringify({
          keys: [
            { kid: 'e1', secret: KEY_SECRET },
            { kid: 'e1', secret: KEY_SECRET },
          ],
        }),
      ),
      [{ message: /listed twice/ }],
    )
    const problems = JSON.stringify(bad(`e1:${'é'.repeat(40)}`))
    t.notOk(problems.includes('é'.repeat(40)), 'the problem does not quote the secret')
  },
)
