// Lifting a throttle by hand: the keys an unlock drops are the very ones the throttles count under
// (checked by throttling, unlocking and trying again, not by comparing names), over the memory
// counters and over a real Redis; and what an unlock refuses.
import t, { type Test } from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import type { AttemptCounters } from '../../src/throttle/attempt-counters.js'
import { clientNetwork } from '../../src/throttle/client-network.js'
import { CredentialThrottle } from '../../src/throttle/credential-throttle.js'
import { LoginThrottle } from '../../src/throttle/login-throttle.js'
import { MemoryCounters } from '../../src/throttle/memory-counters.js'
import { RedisCounters } from '../../src/throttle/redis-counters.js'
import { unlock, unlockKeys } from '../../src/throttle/unlock.js'
import { startRedis } from '../harness/redis.js'

const LOGIN = { windowMs: 60_000, perAddress: 5, perAccount: 3, rememberMs: 86_400_000 }
const CRED = { windowMs: 60_000, perAddress: 4, perToken: 2 }

async function lockedOutThenUnlocked(t: Test, counters: AttemptCounters) {
  const login = new LoginThrottle(counters, LOGIN)
  for (let i = 0; i < 3; i++) await login.begin('alice', `192.0.2.${i}`)
  t.match((await login.begin('alice', '203.0.113.5')).throttled, { limit: 'account' }, 'locked out')
  t.same(await unlock(counters, { account: 'alice' }), { ok: true, cleared: 1 })
  t.equal((await login.begin('alice', '203.0.113.5')).throttled, null, 'alice may try again at once')
  t.same(await unlock(counters, { account: 'nobody' }), { ok: true, cleared: 0 }, 'nothing to drop')

  // An IPv6 client over its address limit (the throttles are given its network, as the app gives
  // them clientNetwork(request.ip)): unlocking any address of its /64 lifts it, for logins and for
  // link and token values (counted, not yet blocked in this process).
  const network = clientNetwork('2001:db8:1:2::10')
  for (let i = 0; i < 5; i++) await login.begin(`user${i}`, network)
  t.match((await login.begin('bob', network)).throttled, { limit: 'address' })
  const credentials = new CredentialThrottle(counters, CRED)
  for (let i = 0; i < CRED.perAddress; i++) await credentials.failed(network, null)
  const lifted = await unlock(counters, { address: '2001:db8:1:2:ffff::1' })
  t.same(lifted, { ok: true, cleared: 2, network: '2001:db8:1:2::/64' })
  t.equal((await login.begin('bob', network)).throttled, null, 'the network logs in again')
  t.equal(await credentials.failed(network, null), null, 'its guesses count from zero again')
}

t.test('memory counters: an account and a network, throttled, unlocked, trying again', async (t) => {
  await lockedOutThenUnlocked(t, new MemoryCounters())
})

t.test('Redis counters: the same, the counts shared by every gateway', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const counters = new RedisCounters({
    ...singleRedis(redis.url),
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  })
  t.teardown(() => counters.close())
  await counters.connect()
  await lockedOutThenUnlocked(t, counters)
})

t.test('an unlock names an account or a real address', async (t) => {
  t.match(unlockKeys({}), { ok: false, message: /account or an address/ })
  t.match(unlockKeys({ address: 'example.com' }), { ok: false, message: /not an IP address/ })
  t.match(unlockKeys({ address: '192.0.2.300' }), { ok: false })
  const both = unlockKeys({ account: 'alice', address: '::ffff:192.0.2.7' })
  t.match(both, { ok: true, network: '192.0.2.7' }, 'a mapped IPv4 address is its IPv4 network')
  t.equal(both.ok && both.keys.length, 4, "the account, the network's two counts, and the pair")
  t.notOk(both.ok && both.keys.some((k) => k.includes('alice')), 'the account name is hashed')
})
