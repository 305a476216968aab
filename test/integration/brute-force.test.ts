// Brute force through real nginx, two gateways on one Redis (each behind its own nginx, as two
// hosts behind a balancer would be): guesses are counted together whichever gateway gets them.
// Several client addresses are real source addresses on loopback (127.0.0.2, 127.0.0.3, ...);
// nginx passes each as X-Forwarded-For, which the gateways believe because their trust_proxy
// names nginx's address, 127.0.0.1.
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { main as cli } from '../../src/cli.js'
import { issueLink } from '../../src/credentials/issue.js'
import { hashToken, mintToken } from '../../src/credentials/tokens/access-token.js'
import { type RunningGateway, startGateway } from '../harness/gateway.js'
import { type NginxServer, startNginx } from '../harness/nginx.js'
import { startRedis } from '../harness/redis.js'
import {
  makeScenarioTree,
  SCENARIO_ACL,
  scenarioUsersYaml,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const LINK_KEYS = `k1:${'1'.repeat(40)}`
const CONFIG = `${X_ACCEL_REDIS_CONFIG.replace('server:\n', 'server:\n  trust_proxy: [127.0.0.1]\n')}
rate_limit:
  credentials:
    window: 10m
`
if (!CONFIG.includes('trust_proxy')) throw new Error('the scenario config changed: update CONFIG')

const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const redis = await startRedis()
t.teardown(() => redis.stop())
const usersYaml = await scenarioUsersYaml()
const gateways: RunningGateway[] = []
const proxies: NginxServer[] = []
for (let i = 0; i < 2; i++) {
  const gateway = await startGateway({
    configYaml: CONFIG,
    aclFiles: { '10-test.yaml': SCENARIO_ACL },
    usersYaml,
    filesRoot: tree.root,
    redisUrl: redis.url,
    env: { GATEWAY_LINK_KEYS: LINK_KEYS },
  })
  t.teardown(() => gateway.stop())
  gateways.push(gateway)
  const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
  t.teardown(() => nginx.stop())
  proxies.push(nginx)
}

interface Answer {
  status: number
  code: string | undefined
  retryAfter: string | undefined
}

/** One request to nginx number `via`, from the loopback source address `from`. */
function send(
  via: number,
  from: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const nginx = proxies[via % proxies.length] as NginxServer
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: nginx.port,
        localAddress: from,
        method,
        path,
        headers,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString()
          let code: string | undefined
          if (res.statusCode !== 200) code = (JSON.parse(text) as { code?: string }).code
          const retryAfter = res.headers['retry-after']
          resolve({ status: res.statusCode ?? 0, code, retryAfter })
        })
        res.once('error', reject)
      },
    )
    req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)))
    req.once('error', reject)
    req.end(body)
  })
}

const login = (via: number, from: string, username: string, password: string) =>
  send(
    via,
    from,
    'POST',
    '/login',
    { 'content-type': 'application/json' },
    JSON.stringify({ username, password }),
  )

/** Runs `count` requests, `width` at a time; each gets its index. */
async function bounded(count: number, width: number, one: (i: number) => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++
        answers[i] = await one(i)
      }
    }),
  )
  return answers
}

function tally(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1
  return out
}

function checkThrottled(t: Test, answers: Answer[], max: number) {
  const limited = answers.filter((a) => a.status === 429)
  t.ok(limited.length > 0, 'some were throttled')
  t.ok(
    limited.every(
      (a) => a.code === 'GW_ERR_RATE_LIMITED' && Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= max,
    ),
    `every 429 says GW_ERR_RATE_LIMITED with a Retry-After of 1-${max} s`,
  )
}

const random = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let s = ''
  for (let i = 0; i < n; i++) s += chars[Math.floor(Math.random() * chars.length)]
  return s
}

t.test(
  '100 wrong passwords for one account from several addresses: throttled; its owner still logs in',
  async (t) => {
    const owner = '127.0.0.9'
    t.equal(
      (await login(1, owner, 'alice', 'pw-alice')).status,
      200,
      'alice has logged in from her network before',
    )
    const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
    const attack = (offset: number) => (i: number) =>
      login(i + offset, attackers[(i + offset) % attackers.length] as string, 'alice', `guess-${i + offset}`)
    const first = await bounded(50, 4, attack(0))
    const meanwhile = await login(0, owner, 'alice', 'pw-alice')
    const second = await bounded(50, 4, attack(50))
    const answers = [...first, ...second]
    t.same(tally(answers), { 401: 10, 429: 90 }, 'exactly the account limit failed, across both gateways')
    checkThrottled(t, answers, 15 * 60)
    t.equal(meanwhile.status, 200, 'the owner logs in on the other gateway while the account is attacked')
    const line = gateways.flatMap((g) => g.logs()).find((l) => l.code === 'GW_ERR_RATE_LIMITED')
    t.match(line, { status: 429, user: 'alice', detail: 'rate limit: account' })
    // The documented price: the right password from a network alice never used waits too.
    t.equal((await login(0, '127.0.0.10', 'alice', 'pw-alice')).status, 429)
    t.equal((await login(0, '127.0.0.10', 'bob', 'pw-bob')).status, 200, 'other accounts are untouched')
    // Until an operator lifts it: the CLI drops the shared count in Redis, for both gateways.
    const out: string[] = []
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
    const env = { GATEWAY_CONFIG: join((gateways[0] as RunningGateway).dir, 'gateway.yaml') }
    t.equal(await cli(['throttle', 'unlock', '--account', 'alice'], io, env), 0, out.join('\n'))
    t.match(JSON.parse(out[0] as string), { account: 'alice', cleared: 1 })
    for (const via of [0, 1])
      t.equal(
        (await login(via, '127.0.0.10', 'alice', 'pw-alice')).status,
        200,
        'alice logs in from anywhere',
      )
  },
)

t.test('one address guessing at many accounts is throttled by its address', async (t) => {
  const answers = await bounded(40, 4, (i) => login(i, '127.0.0.6', `user${i}`, 'guess'))
  t.same(tally(answers), { 401: 30, 429: 10 })
  checkThrottled(t, answers, 15 * 60)
  t.equal(
    (await login(0, '127.0.0.6', 'bob', 'pw-bob')).status,
    429,
    'a throttled address checks no password',
  )
})

function linkUrl(path: string): string {
  const keys = gateways[0]?.config.links.keys ?? null
  const issued = issueLink({ path, ttl: '1h', issuer: 'ops' }, keys, {
    maxTtlSeconds: 86_400,
    routePrefix: '/download/',
  })
  if (!issued.ok) throw new Error(issued.message)
  return issued.value.url
}

t.test(
  '1,000 guessed link values from one address: 429 past the limit; a valid link from elsewhere downloads',
  async (t) => {
    const valid = linkUrl('/reports/q1.pdf')
    const guesser = '127.0.0.7'
    const forms = [
      () => `k1.${random(60)}.${random(43)}`, // a bad signature
      () => `k9.${random(60)}.${random(43)}`, // an unknown key
      () => random(80), // malformed
    ]
    const answers = await bounded(1000, 8, async (i) => {
      if (i % 100 === 0) {
        const legit = await send(i / 100, '127.0.0.8', 'GET', valid)
        if (legit.status !== 200) t.fail(`the valid link from another address got ${legit.status}`)
      }
      return send(i, guesser, 'GET', `/download/reports/q1.pdf?gwl=${(forms[i % 3] as () => string)()}`)
    })
    t.same(tally(answers), { 401: 50, 429: 950 }, 'exactly the address limit failed, across both gateways')
    checkThrottled(t, answers, 600)
    for (const via of [0, 1]) {
      t.equal((await send(via, '127.0.0.8', 'GET', valid)).status, 200, 'a valid link from elsewhere')
      t.equal((await send(via, guesser, 'GET', valid)).status, 429, "the guesser's own valid link waits too")
    }
  },
)

t.test(
  '1,000 guessed tokens from one address: 429 past the limit; a valid token from elsewhere downloads',
  async (t) => {
    const store = gateways[0]?.credentials.store
    if (!store) throw new Error('no credential store')
    const { id, token } = mintToken()
    const now = Math.floor(Date.now() / 1000)
    await store.putToken({
      id,
      hash: hashToken(token),
      user: 'alice',
      groups: ['finance'],
      expiresAt: now + 3600,
      createdAt: now,
    })
    const bearer = (value: string) => ({ authorization: `Bearer ${value}` })
    const path = '/download/reports/q1.pdf'
    const answers = await bounded(1000, 8, async (i) => {
      if (i % 100 === 0) {
        const legit = await send(i / 100, '127.0.0.12', 'GET', path, bearer(token))
        if (legit.status !== 200) t.fail(`the valid token from another address got ${legit.status}`)
      }
      const guess =
        i % 2 === 0 ? `gwt_${random(16).replace(/[-_]/g, 'x')}_${random(43)}` : `gwt_${random(30)}`
      return send(i, '127.0.0.11', 'GET', path, bearer(guess))
    })
    t.same(tally(answers), { 401: 50, 429: 950 })
    checkThrottled(t, answers, 600)

    // Its id is public: wrong secrets for it from many addresses are answered 429 past the per-id
    // limit, while the right secret keeps working for its owner.
    const wrong = `gwt_${id}_${random(43)}`
    const spread = await bounded(30, 3, (i) => send(i, `127.0.0.${20 + (i % 5)}`, 'GET', path, bearer(wrong)))
    t.same(tally(spread), { 401: 20, 429: 10 }, 'the per-token limit, across addresses and gateways')
    checkThrottled(t, spread, 600)
    for (const via of [0, 1])
      t.equal(
        (await send(via, '127.0.0.12', 'GET', path, bearer(token))).status,
        200,
        'the owner still downloads',
      )
  },
)

t.test('a session download never touches the rate limit counters', async (t) => {
  const cookie = await loginCookie()
  const after = await redisKeys()
  t.ok(after.length > 0, 'the counters are there to compare')
  for (let i = 0; i < 20; i++) {
    const res = await send(i, '127.0.0.30', 'GET', '/download/home/bob/own.txt', { cookie })
    t.equal(res.status, 200)
  }
  t.same(await redisKeys(), after, 'twenty downloads later, the same keys and counts')
})

async function loginCookie(): Promise<string> {
  const res = await fetch(`${proxies[0]?.baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bob', password: 'pw-bob' }),
  })
  if (res.status !== 200) throw new Error(`login: ${res.status}`)
  return (res.headers.get('set-cookie') ?? '').split(';')[0] as string
}

async function redisKeys(): Promise<string[]> {
  const { createClient } = await import('redis')
  const client = createClient({ url: redis.url })
  await client.connect()
  try {
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: 'gw:rl:*' })) keys.push(...batch)
    const withCounts = await Promise.all(keys.map(async (k) => `${k}=${await client.get(k)}`))
    return withCounts.sort()
  } finally {
    await client.close()
  }
}

t.test('Redis not answering: logins fail closed, link guesses are refused as ever, uncounted', async (t) => {
  redis.pause()
  t.teardown(() => redis.resume())
  const guess = await send(
    0,
    '127.0.0.40',
    'GET',
    `/download/public/hello.txt?gwl=k1.${random(60)}.${random(42)}A`,
  )
  t.match(guess, { status: 401, code: 'GW_ERR_LINK_BAD_SIGNATURE' }, 'a guess is still refused, not a 5xx')
  const line = gateways[0]?.logs().findLast((l) => l.code === 'GW_ERR_LINK_BAD_SIGNATURE')
  t.match(
    line,
    { detail: /not counted: rate limit counters unavailable/ },
    'the line says it was not counted',
  )
  const loginAnswer = await login(0, '127.0.0.40', 'bob', 'pw-bob')
  t.match(loginAnswer, { status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' })
  const refusal = gateways[0]?.logs().findLast((l) => l.code === 'GW_ERR_STORE_UNAVAILABLE')
  t.match(
    refusal,
    { user: 'bob', detail: /rate limit counters unavailable/ },
    'refused by the limiter, before the password',
  )
  redis.resume()
})
