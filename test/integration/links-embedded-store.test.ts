// Links and tokens with the embedded store (the default start: direct delivery, no Redis): the
// admin API is the only way into the store, and the CLI reaches it with --admin-url. Counts are
// exact and revocation immediate here too.

import { join } from 'node:path'
import t from 'tap'
import { main as cli } from '../../src/cli.js'
import { DIRECT_MEMORY_CONFIG } from '../harness/direct-scenario.js'
import { startGateway } from '../harness/gateway.js'
import { makeScenarioTree, SCENARIO_ACL, scenarioUsersYaml } from '../harness/scenario.js'

const ADMIN_TOKEN = 'embedded-admin-token-0123456789-abcdefgh'
const ENV = { GATEWAY_LINK_KEYS: `k1:${'e'.repeat(40)}`, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN }

const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const gateway = await startGateway({
  configYaml: `${DIRECT_MEMORY_CONFIG}admin:\n  port: 0\n`,
  aclFiles: { '10-test.yaml': SCENARIO_ACL },
  usersYaml: await scenarioUsersYaml(),
  filesRoot: tree.root,
  env: ENV,
})
t.teardown(() => gateway.stop())

async function run(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
  const env = { ...ENV, GATEWAY_CONFIG: join(gateway.dir, 'gateway.yaml') }
  return { code: await cli(args, io, env), out }
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.baseUrl}${path}`, { headers }).then(async (r) => ({
    status: r.status,
    body: Buffer.from(await r.arrayBuffer()),
  }))

t.test('token create and revoke through the admin API, from the CLI', async (t) => {
  const made = await run([
    'token',
    'create',
    '--user',
    'alice',
    '--group',
    'finance',
    '--ttl',
    '1h',
    '--admin-url',
    gateway.adminUrl as string,
  ])
  t.equal(made.code, 0, made.out.join('\n'))
  const token = JSON.parse(made.out[0] as string) as { id: string; token: string }
  const auth = { authorization: `Bearer ${token.token}` }
  const res = await get('/download/reports/q1.pdf', auth)
  t.equal(res.status, 200)
  t.ok(res.body.equals(tree.files['reports/q1.pdf'] as Buffer), 'direct delivery, same bytes')
  t.equal((await run(['token', 'revoke', token.id, '--admin-url', gateway.adminUrl as string])).code, 0)
  t.equal((await get('/download/reports/q1.pdf', auth)).status, 401)
  t.notOk(gateway.logText().includes(token.token.slice(-43)), 'the token is not logged')
})

t.test('without --admin-url the CLI says the embedded store is out of its reach', async (t) => {
  const r = await run(['token', 'create', '--user', 'alice', '--ttl', '1h'])
  t.equal(r.code, 2)
  t.match(r.out.join('\n'), /--admin-url/)
})

t.test('a link signed offline counts exactly in the embedded store and is revoked at once', async (t) => {
  const made = await run([
    'link',
    'create',
    '--path',
    '/reports/q1.pdf',
    '--ttl',
    '1h',
    '--max-downloads',
    '4',
  ])
  t.equal(made.code, 0, made.out.join('\n'))
  const link = JSON.parse(made.out[0] as string) as { id: string; url: string }
  const results = await Promise.all(Array.from({ length: 16 }, () => get(link.url)))
  // One tally of every status, so a failure shows what came instead of a count that is off.
  const tally: Record<number, number> = {}
  for (const r of results) tally[r.status] = (tally[r.status] ?? 0) + 1
  t.same(tally, { 200: 4, 410: 12 }, 'four downloads, then used up')
  t.ok(results.every((r) => r.status !== 200 || r.body.equals(tree.files['reports/q1.pdf'] as Buffer)))

  const other = JSON.parse(
    (await run(['link', 'create', '--path', '/public/hello.txt', '--ttl', '1h'])).out[0] as string,
  )
  t.equal((await get(other.url)).status, 200)
  t.equal((await run(['link', 'revoke', other.id, '--admin-url', gateway.adminUrl as string])).code, 0)
  t.equal((await get(other.url)).status, 410)
})

t.test('a locked-out account is unlocked through the admin API, from the CLI', async (t) => {
  const attempt = (password: string) =>
    fetch(`${gateway.baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password }),
    }).then((r) => r.status)
  // The default account limit is 10 failures a window; bob has never logged in from here.
  const wrong = []
  for (let i = 0; i < 11; i++) wrong.push(await attempt(`guess-${i}`))
  t.same(wrong.slice(0, 10), Array(10).fill(401), 'ten wrong passwords are told so')
  t.equal(wrong[10], 429, 'then the account is throttled')
  t.equal(await attempt('pw-bob'), 429, 'the right password waits too')

  const admin = ['--admin-url', gateway.adminUrl as string]
  const unknown = await run(['throttle', 'unlock', '--address', 'not-an-ip', ...admin])
  t.not(unknown.code, 0, 'a bad address is refused')
  const lifted = await run(['throttle', 'unlock', '--account', 'bob', ...admin])
  t.equal(lifted.code, 0, lifted.out.join('\n'))
  t.match(JSON.parse(lifted.out[0] as string), { account: 'bob', network: null })
  t.equal(await attempt('pw-bob'), 200, 'bob logs in at once')
  t.match(gateway.logText(), /"code":"GW_ADMIN_THROTTLE_LIFTED"/)
  t.equal(
    (await run(['throttle', 'unlock', '--account', 'bob'])).code,
    2,
    'the embedded store needs --admin-url',
  )
})

t.test('a link id that begins with "-" is taken as the id, wherever it stands', async (t) => {
  const admin = ['--admin-url', gateway.adminUrl as string]
  for (const args of [
    ['link', 'revoke', '-AbCdEfGhIjKlMnO', ...admin],
    ['link', 'revoke', ...admin, '--Xy0123456789ab'],
    ['link', 'revoke', ...admin, '--', '-_0123456789abcd'],
  ]) {
    const r = await run(args)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.out.join('\n')}`)
  }
  const unknownOption = await run(['link', 'revoke', '--bogus', '-AbCdEfGhIjKlMnO', ...admin])
  t.equal(unknownOption.code, 2, 'an unknown option is still an error')
})
