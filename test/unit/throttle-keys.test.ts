// Whose address a limit counts, on the real app (Fastify's inject sets the peer): X-Forwarded-For
// is believed from the proxies server.trust_proxy names and from nobody else, so a client that
// reaches the gateway directly cannot spread its guesses over addresses it writes itself.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { makeFileTree } from '../harness/files.js'
import { prepareGateway } from '../harness/gateway.js'
import { scenarioUsersYaml } from '../harness/scenario.js'

const tree = await makeFileTree({ 'home/alice/own.txt': 'alice only\n' })
t.teardown(() => tree.cleanup())
const usersYaml = await scenarioUsersYaml()

async function appWith(t: Test, rateLimit: string): Promise<FastifyInstance> {
  const prepared = await prepareGateway({
    configYaml: `
server:
  trust_proxy: [127.0.0.1]
delivery:
  mode: direct
  files_root: \${FILES_ROOT}
session:
  store: memory
  cookie_name: sid
login:
  enabled: true
  users_file: users.yaml
rate_limit:
${rateLimit}
acl:
  paths: [acl.d]
  watch: false
`,
    aclFiles: { '10.yaml': 'rules:\n  - id: homes\n    path: /home/{user}/**\n    allow: authenticated\n' },
    usersYaml,
    filesRoot: tree.root,
  })
  const store = new MemorySessionStore()
  const app = await prepared.build(store)
  t.teardown(async () => {
    await app.close()
    await store.close()
    await prepared.close()
  })
  return app
}

const LIMITS = '  login:\n    failures_per_address: 3\n    failures_per_account: 100'

function login(app: FastifyInstance, user: string, password: string, peer: string, forwardedFor?: string) {
  return app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: peer,
    headers: {
      'content-type': 'application/json',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    payload: JSON.stringify({ username: user, password }),
  })
}

t.test('behind the trusted proxy, each forwarded address has its own budget', async (t) => {
  const app = await appWith(t, LIMITS)
  for (let i = 0; i < 3; i++)
    t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', '192.0.2.1')).statusCode, 401)
  const limited = await login(app, 'alice', 'wrong', '127.0.0.1', '192.0.2.1')
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['retry-after'], /^[0-9]+$/)
  t.ok(Number(limited.headers['retry-after']) > 800, 'until the 15 minute window ends')
  t.equal(limited.json().code, 'GW_ERR_RATE_LIMITED')
  t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', '192.0.2.2')).statusCode, 401, 'another client')
  t.equal(
    (await login(app, 'alice', 'pw-alice', '127.0.0.1', '192.0.2.1')).statusCode,
    429,
    'no password is checked',
  )
})

t.test('an untrusted peer is counted by its own address, whatever X-Forwarded-For says', async (t) => {
  const app = await appWith(t, LIMITS)
  for (let i = 0; i < 3; i++)
    t.equal((await login(app, 'alice', 'wrong', '10.0.0.5', `192.0.2.${i}`)).statusCode, 401)
  t.equal((await login(app, 'alice', 'wrong', '10.0.0.5', '192.0.2.99')).statusCode, 429)
  t.equal((await login(app, 'alice', 'wrong', '10.0.0.6')).statusCode, 401, 'another peer is another key')
})

t.test('IPv6 clients of one /64 share a budget', async (t) => {
  const app = await appWith(t, LIMITS)
  for (let i = 1; i <= 3; i++)
    t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', `2001:db8:1:2::${i}`)).statusCode, 401)
  t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', '2001:db8:1:2:ffff::1')).statusCode, 429)
  t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', '2001:db8:1:3::1')).statusCode, 401)
})

t.test('rate_limit.enabled: false counts nothing', async (t) => {
  const app = await appWith(t, `  enabled: false\n${LIMITS}`)
  for (let i = 0; i < 5; i++)
    t.equal((await login(app, 'alice', 'wrong', '127.0.0.1', '192.0.2.1')).statusCode, 401)
})

t.test('start-up warns when limits would count every client behind nginx as one', async (t) => {
  const { rateLimitWarning } = await import('../../src/config/rate-limit-config.js')
  const config = (mode: 'x-accel' | 'direct', trustProxy: boolean | string[], enabled = true) =>
    ({
      rateLimit: { enabled },
      delivery: { mode },
      server: { trustProxy },
    }) as unknown as Parameters<typeof rateLimitWarning>[0]
  t.match(rateLimitWarning(config('x-accel', false)), /server\.trust_proxy is false/)
  t.equal(rateLimitWarning(config('x-accel', ['127.0.0.1'])), undefined, 'a trusted proxy')
  t.equal(rateLimitWarning(config('direct', false)), undefined, 'no nginx in front')
  t.equal(rateLimitWarning(config('x-accel', false, false)), undefined, 'limits off')
})
