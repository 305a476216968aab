// The brute-force throttles on their own: client networks (IPv6 by /64), fixed windows, the login's
// reserve-and-refund counts and its known-network exemption, the credential throttle's local block
// and per-token count, over the memory counters with a clock the test moves and over a real Redis
// shared by two clients (two gateways).
import t from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import { CountersUnavailableError } from '../../src/throttle/attempt-counters.js'
import { clientNetwork } from '../../src/throttle/client-network.js'
import { CredentialThrottle } from '../../src/throttle/credential-throttle.js'
import { LoginThrottle } from '../../src/throttle/login-throttle.js'
import { MemoryCounters } from '../../src/throttle/memory-counters.js'
import { RedisCounters } from '../../src/throttle/redis-counters.js'
import { startRedis } from '../harness/redis.js'

t.test('client networks: IPv4 as is, IPv6 by its /64, mapped IPv4 as IPv4', async (t) => {
  t.equal(clientNetwork('192.0.2.7'), '192.0.2.7')
  t.equal(clientNetwork('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(clientNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(clientNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64', 'same /64, other host')
  t.equal(clientNetwork('2001:0DB8:0001:0002:0:0:0:9'), '2001:db8:1:2::/64', 'leading zeros and case')
  t.equal(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(clientNetwork('::1'), '0:0:0:0::/64')
  t.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone id is dropped')
  t.equal(clientNetwork('64:ff9b::192.0.2.7'), '64:ff9b:0:0::/64', 'an embedded IPv4 tail')
  t.not(clientNetwork('2001:db8:1:2::1'), clientNetwork('2001:db8:1:3::1'), 'another /64 counts apart')
})

t.test('memory counters: a fixed window from the first count, refunds, marks', async (t) => {
  let now = 1_000_000
  const c = new MemoryCounters(() => now)
  t.same(await c.hit('k', 1000), { count: 1, resetInMs: 1000 })
  now += 400
  t.same(await c.hit('k', 1000), { count: 2, resetInMs: 600 }, 'the window does not slide')
  await c.refund('k')
  t.same(await c.hit('k', 1000), { count: 2, resetInMs: 600 })
  now += 600
  t.same(await c.hit('k', 1000), { count: 1, resetInMs: 1000 }, 'a new window once it ended')
  await c.refund('gone')
  t.equal(await c.marked('gone'), false, 'a refund never creates a key')
  await c.mark('m', 50)
  t.equal(await c.marked('m'), true)
  now += 50
  t.equal(await c.marked('m'), false)
})

t.test(
  'memory counters: expired keys are swept, so fresh addresses cannot grow the map forever',
  async (t) => {
    let now = 0
    const c = new MemoryCounters(() => now)
    for (let i = 0; i < 10_000; i++) await c.hit(`a${i}`, 10)
    now += 10
    await c.hit('fresh', 10)
    t.equal(c.size, 1)
  },
)

const LOGIN = { windowMs: 60_000, perAddress: 5, perAccount: 3, rememberMs: 3_600_000 }

t.test('login: per address, whatever the account', async (t) => {
  const login = new LoginThrottle(new MemoryCounters(), LOGIN)
  for (let i = 0; i < 5; i++) t.equal((await login.begin(`user${i}`, '192.0.2.1')).throttled, null)
  const sixth = await login.begin('user9', '192.0.2.1')
  t.same(sixth.throttled, { limit: 'address', retryAfterSeconds: 60 })
  t.equal((await login.begin('user9', '192.0.2.2')).throttled, null, 'another address is not')
})

t.test('login: per account from many addresses; known networks may still try', async (t) => {
  const login = new LoginThrottle(new MemoryCounters(), LOGIN)
  const home = '198.51.100.9'
  await (await login.begin('alice', home)).succeeded()
  for (let i = 0; i < 3; i++) t.equal((await login.begin('alice', `192.0.2.${i}`)).throttled, null)
  const attacker = await login.begin('alice', '192.0.2.200')
  t.match(attacker.throttled, { limit: 'account' }, 'a fresh address is throttled on the account')
  t.match((await login.begin('alice', '203.0.113.1')).throttled, { limit: 'account' })
  t.equal((await login.begin('bob', '203.0.113.1')).throttled, null, 'other accounts are not')
  const owner = await login.begin('alice', home)
  t.equal(owner.throttled, null, 'the network alice logged in from still gets to try')
  await owner.succeeded()
  // The owner's network has a budget of its own, so a guesser there is stopped too.
  for (let i = 0; i < 3; i++) t.equal((await login.begin('alice', home)).throttled, null)
  t.match((await login.begin('alice', home)).throttled, { limit: 'account' })
})

t.test('login: a success gives its reserved count back; concurrency cannot overrun', async (t) => {
  const counters = new MemoryCounters()
  const login = new LoginThrottle(counters, LOGIN)
  for (let i = 0; i < 10; i++) await (await login.begin('alice', '192.0.2.1')).succeeded()
  t.equal((await login.begin('alice', '192.0.2.1')).throttled, null, 'ten successes count nothing')
  const many = await Promise.all(Array.from({ length: 20 }, () => login.begin('carol', '192.0.2.50')))
  t.equal(many.filter((a) => a.throttled === null).length, 3, 'exactly the account limit, at once')
})

const CRED = { windowMs: 60_000, perAddress: 4, perToken: 2 }

t.test('credentials: per address, then blocked from memory until the window ends', async (t) => {
  let now = 5_000_000
  const counters = new MemoryCounters(() => now)
  const cred = new CredentialThrottle(counters, CRED, () => now)
  for (let i = 0; i < 4; i++) t.equal(await cred.failed('192.0.2.1', null), null)
  t.equal(cred.blocked('192.0.2.1'), null, 'not before the limit is passed')
  t.same(await cred.failed('192.0.2.1', null), { limit: 'address', retryAfterSeconds: 60 })
  now += 30_500
  t.same(cred.blocked('192.0.2.1'), { limit: 'address', retryAfterSeconds: 30 })
  t.equal(cred.blocked('192.0.2.2'), null)
  now += 29_500
  t.equal(cred.blocked('192.0.2.1'), null, 'forgiven on time')
  t.equal(await cred.failed('192.0.2.1', null), null, 'and counted afresh')
})

t.test('credentials: wrong secrets for one token id from many addresses', async (t) => {
  const cred = new CredentialThrottle(new MemoryCounters(), CRED)
  t.equal(await cred.failed('192.0.2.1', 'AAAAAAAAAAAAAAAA'), null)
  t.equal(await cred.failed('192.0.2.2', 'AAAAAAAAAAAAAAAA'), null)
  t.match(await cred.failed('192.0.2.3', 'AAAAAAAAAAAAAAAA'), { limit: 'token' })
  t.equal(cred.blocked('192.0.2.3'), null, 'a token count never blocks an address')
  t.equal(await cred.failed('192.0.2.3', 'BBBBBBBBBBBBBBBB'), null, 'another id counts apart')
})

t.test('Redis counters: one count across two clients, its window, refunds, marks', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const options = { ...singleRedis(redis.url), connectTimeoutMs: 1000, commandTimeoutMs: 1000 }
  const a = new RedisCounters(options)
  const b = new RedisCounters(options)
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  await Promise.all([a.connect(), b.connect()])
  const hits = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).hit('shared', 60_000)),
  )
  t.same(
    hits.map((h) => h.count).sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i + 1),
    'every concurrent count gets its own number',
  )
  t.ok(
    hits.every((h) => h.resetInMs > 59_000 && h.resetInMs <= 60_000),
    'the window starts once',
  )
  await a.refund('shared')
  t.equal((await b.hit('shared', 60_000)).count, 50)
  t.equal((await a.hit('short', 100)).count, 1)
  await new Promise((r) => setTimeout(r, 150))
  t.equal((await b.hit('short', 100)).count, 1, 'Redis forgets the key when its window ends')
  await a.refund('never-counted')
  t.equal(await b.marked('never-counted'), false, 'a refund of a gone key leaves no key behind')
  await a.mark('known', 60_000)
  t.equal(await b.marked('known'), true)

  const login = [new LoginThrottle(a, LOGIN), new LoginThrottle(b, LOGIN)]
  const tries = await Promise.all(
    Array.from({ length: 12 }, (_, i) => (login[i % 2] as LoginThrottle).begin('dave', `192.0.2.${i}`)),
  )
  t.equal(tries.filter((x) => x.throttled === null).length, 3, 'the account limit holds across both')

  redis.pause()
  t.teardown(() => redis.resume())
  await t.rejects(a.hit('x', 1000), CountersUnavailableError, 'a hung Redis is an error, in time')
  redis.resume()
})
