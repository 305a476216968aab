// The callback source against a real HTTP app on a loopback port (test/harness/callback-app.ts):
// how each kind of answer maps to an identity, a 401 or a 503, what the app receives, and what the
// answer cache keeps, for how long and for whom.
import fc from 'fast-check'
import t, { type Test } from 'tap'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
} from '../../src/errors.js'
import { type IdentityResult, isPendingRead } from '../../src/session/session-source.js'
import { StoreUnavailableError } from '../../src/session/session-store.js'
import { CallbackSessionSource, type CallbackSourceOptions } from '../../src/session/sources/callback.js'
import { identify } from '../contract/session-source.js'
import { APP_COOKIE, startCallbackApp } from '../harness/callback-app.js'

const TOKEN = 'a-shared-token-for-the-callback-tests-0123'
const app = await startCallbackApp({ token: TOKEN })
t.teardown(() => app.close())

function sourceWith(o: Partial<CallbackSourceOptions> = {}): CallbackSessionSource {
  const source = new CallbackSessionSource({
    url: new URL(app.whoamiUrl),
    cookieNames: [APP_COOKIE],
    timeoutMs: 2000,
    cacheTtlMs: 0,
    cacheMaxEntries: 100,
    userField: ['user'],
    groupsField: ['groups'],
    token: { header: 'x-gateway-token', value: TOKEN },
    ...o,
  })
  t.teardown(() => source.close())
  return source
}

const header = (id: string) => `${APP_COOKIE}=${id}`

/** The StoreUnavailableError a read rejects with, checked to say `why` and never the cookie. */
async function unavailable(t: Test, source: CallbackSessionSource, cookie: string, why: RegExp) {
  const err = await identify(source, header(cookie)).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, StoreUnavailableError, 'fails closed')
  t.match((err as Error).message, why)
  t.notMatch((err as Error).message, cookie, 'the message never carries the cookie')
}

function why(r: IdentityResult): string | undefined {
  return r.ok ? undefined : r.why
}

t.afterEach(() => app.force(undefined))

t.test('a logged-in user: the user and groups of the JSON answer', async (t) => {
  const r = await identify(sourceWith(), header(app.login('alice', ['finance', 'staff'])))
  t.same(r, { ok: true, identity: { user: 'alice', groups: ['finance', 'staff'] } })
})

t.test('dotted fields, a numeric user id (Laravel auth()->id()), no groups field', async (t) => {
  const cookie = app.login('x', [])
  app.force({ body: JSON.stringify({ data: { id: 42, roles: ['admin'] } }) })
  const nested = await identify(
    sourceWith({ userField: ['data', 'id'], groupsField: ['data', 'roles'] }),
    header(cookie),
  )
  t.same(nested, { ok: true, identity: { user: '42', groups: ['admin'] } })
  app.force({ body: JSON.stringify({ user: 'carol' }) })
  t.same(await identify(sourceWith(), header(cookie)), { ok: true, identity: { user: 'carol', groups: [] } })
})

t.test('401 and 403 from the app: anonymous, and the why names it', async (t) => {
  const source = sourceWith()
  const r401 = await identify(source, header('no-such-session'))
  t.equal(!r401.ok && r401.reason, GW_ERR_SESSION_UNKNOWN)
  t.equal(!r401.ok && r401.why, 'callback-401')
  app.force({ status: 403, body: '{}' })
  const r403 = await identify(source, header(app.login('alice', [])))
  t.equal(!r403.ok && r403.reason, GW_ERR_SESSION_UNKNOWN)
  t.equal(!r403.ok && r403.why, 'callback-403')
})

t.test('a 200 without a user: GW_ERR_SESSION_NO_USER', async (t) => {
  const source = sourceWith()
  for (const body of [{ user: null, groups: [] }, {}, { user: '' }]) {
    app.force({ body: JSON.stringify(body) })
    const r = await identify(source, header(app.login('alice', [])))
    t.equal(!r.ok && r.reason, GW_ERR_SESSION_NO_USER, JSON.stringify(body))
  }
  app.force(undefined)
  const guest = await identify(source, header(app.login(null, [])))
  t.equal(!guest.ok && guest.reason, GW_ERR_SESSION_NO_USER, 'a guest session of the app')
})

t.test('no configured cookie: GW_ERR_NO_SESSION without any call', async (t) => {
  const source = sourceWith()
  const before = app.calls.length
  for (const h of [undefined, '', 'other=1; xsrf=abc', `${APP_COOKIE}=`]) {
    const r = source.identify(h)
    t.notOk(isPendingRead(r), `${h}: answered at once`)
    if (!isPendingRead(r)) t.equal(!r.ok && r.reason, GW_ERR_NO_SESSION)
  }
  t.equal(app.calls.length, before, 'the app was not asked')
})

t.test('a cookie value no app could set: GW_ERR_BAD_COOKIE without any call', async (t) => {
  const source = sourceWith()
  const before = app.calls.length
  for (const value of ['a"b', 'a\\b', 'a,b', 'caf\u00e9', 'x'.repeat(4097)]) {
    const r = source.identify(`${APP_COOKIE}=${value}`)
    t.notOk(isPendingRead(r))
    if (!isPendingRead(r)) t.equal(!r.ok && r.reason, GW_ERR_BAD_COOKIE, value.slice(0, 10))
  }
  t.equal(app.calls.length, before, 'the app was not asked')
})

t.test('only the configured cookies are forwarded, with the token, nothing else', async (t) => {
  const source = sourceWith({ cookieNames: [APP_COOKIE, 'XSRF-TOKEN'] })
  const id = app.login('alice', [])
  const before = app.calls.length
  await identify(source, `tracking=secret-analytics; XSRF-TOKEN=xs1; ${APP_COOKIE}=${id}; remember=me`)
  t.equal(app.calls.length, before + 1, 'one call')
  const received = app.calls.at(-1)
  t.equal(received?.cookie, `${APP_COOKIE}=${id}; XSRF-TOKEN=xs1`, 'exactly the configured cookies')
  t.equal(received?.['x-gateway-token'], TOKEN)
  t.equal(received?.accept, 'application/json')
  t.notOk(received?.authorization, 'no other credential')
})

t.test('a slow app: 503 after timeout_ms, never an identity', async (t) => {
  const source = sourceWith({ timeoutMs: 100 })
  const cookie = app.login('alice', [])
  app.force({ delayMs: 1000 })
  await unavailable(t, source, cookie, /callback: no answer within 100 ms/)
})

t.test('a failing app: 5xx, a redirect, a refused connection: 503 with the why', async (t) => {
  const source = sourceWith()
  const cookie = app.login('alice', [])
  app.force({ status: 502, body: 'bad gateway' })
  await unavailable(t, source, cookie, /callback: answered 502$/)
  app.force({ status: 302, body: '' })
  await unavailable(t, source, cookie, /answered 302, a redirect/)
  const closed = await startCallbackApp()
  await closed.close()
  const refused = sourceWith({ url: new URL(closed.whoamiUrl) })
  await unavailable(t, refused, cookie, /callback: ECONNREFUSED/)
})

t.test('an answer cut short: 503 at once, not after the timeout', async (t) => {
  const source = sourceWith({ timeoutMs: 30_000 })
  const cookie = app.login('alice', [])
  for (const status of [200, 401]) {
    app.force({ status, body: '{"user": "alice"}', cut: true })
    await unavailable(t, source, cookie, /callback: (connection closed mid-answer|aborted)$/)
  }
})

t.test('a malformed answer: 503 naming what is wrong', async (t) => {
  const source = sourceWith()
  const cookie = app.login('alice', [])
  const cases: [string, RegExp][] = [
    ['{"user": "alice", ', /not JSON/],
    ['', /not JSON/],
    ['["alice"]', /not a JSON object/],
    ['"alice"', /not a JSON object/],
    ['{"user": {"id": 1}}', /user is neither/],
    ['{"user": true}', /user is neither/],
    ['{"user": 1.5}', /user is neither/],
    ['{"user": "alice", "groups": "finance"}', /groups is not a list/],
    ['{"user": "alice", "groups": ["finance", 7]}', /groups is not a list/],
    ['{"user": "alice", "groups": [""]}', /groups is not a list/],
  ]
  for (const [body, why] of cases) {
    app.force({ body })
    await unavailable(t, source, cookie, why)
  }
})

t.test('an oversized answer: 503, declared or streamed', async (t) => {
  const source = sourceWith()
  const cookie = app.login('alice', [])
  const body = JSON.stringify({ user: 'alice', groups: [], pad: 'x'.repeat(70 * 1024) })
  for (const chunked of [false, true]) {
    app.force({ body, chunked })
    await unavailable(t, source, cookie, /larger than 65536 bytes/)
  }
  app.force(undefined)
  t.ok((await identify(source, header(cookie))).ok, 'the next call works')
})

t.test('failures are never cached: the next read asks again', async (t) => {
  const source = sourceWith({ cacheTtlMs: 60_000 })
  const cookie = app.login('alice', [])
  app.force({ status: 500, body: '' })
  await unavailable(t, source, cookie, /answered 500/)
  app.force(undefined)
  t.ok((await identify(source, header(cookie))).ok)
})

t.test('the cache: a hit within the ttl, a miss after it, the logout seen then', async (t) => {
  let now = 1000
  const source = sourceWith({ cacheTtlMs: 5000, now: () => now })
  const cookie = app.login('alice', ['finance'])
  const before = app.calls.length
  t.ok((await identify(source, header(cookie))).ok, 'first read asks the app')
  t.equal(app.calls.length, before + 1)
  app.logout(cookie)
  now += 4999
  const cached = source.identify(header(cookie))
  t.notOk(isPendingRead(cached), 'within the ttl: answered without a call')
  t.same(cached, { ok: true, identity: { user: 'alice', groups: ['finance'] } }, 'the kept answer')
  t.equal(app.calls.length, before + 1, 'no call')
  now += 1
  t.ok(isPendingRead(source.identify(header(cookie))), 'at the ttl: a call again')
  const after = await identify(source, header(cookie))
  t.equal(why(after), 'callback-401', 'the logout is seen')
  t.equal(app.calls.length, before + 2)
})

t.test('the cache is never shared across cookies', async (t) => {
  const source = sourceWith({ cacheTtlMs: 60_000, cookieNames: [APP_COOKIE, 'XSRF-TOKEN'] })
  const alice = app.login('alice', ['finance'])
  const bob = app.login('bob', [])
  t.equal((await identify(source, header(alice))).ok && 'alice', 'alice')
  const rb = await identify(source, header(bob))
  t.same(rb, { ok: true, identity: { user: 'bob', groups: [] } }, 'bob is bob, not a cached alice')
  // One character apart, or the same session cookie beside another forwarded cookie: other keys.
  const near = `${alice.slice(0, -1)}${alice.endsWith('A') ? 'B' : 'A'}`
  t.ok(isPendingRead(source.identify(header(near))), 'a near cookie is not a hit')
  t.equal(why(await identify(source, header(near))), 'callback-401')
  t.ok(isPendingRead(source.identify(`${header(alice)}; XSRF-TOKEN=x`)), 'more forwarded cookies: not a hit')
})

t.test('the cache is bounded in entries, oldest out first', async (t) => {
  const source = sourceWith({ cacheTtlMs: 60_000, cacheMaxEntries: 3 })
  const cookies = ['a', 'b', 'c', 'd'].map((u) => app.login(u, []))
  for (const c of cookies) await identify(source, header(c))
  t.ok(isPendingRead(source.identify(header(cookies[0] as string))), 'the oldest went')
  for (const c of cookies.slice(1)) t.notOk(isPendingRead(source.identify(header(c))), 'the newest stay')
})

t.test('single flight: concurrent reads of one cookie share one call', async (t) => {
  const source = sourceWith()
  const alice = app.login('alice', [])
  const bob = app.login('bob', [])
  app.force({ delayMs: 200 })
  const before = app.calls.length
  const reads = [
    ...Array.from({ length: 10 }, () => identify(source, header(alice))),
    ...Array.from({ length: 5 }, () => identify(source, header(bob))),
  ]
  const results = await Promise.all(reads)
  t.equal(app.calls.length, before + 2, 'one call per cookie')
  t.same(
    results.map((r) => r.ok && r.identity.user),
    [...Array(10).fill('alice'), ...Array(5).fill('bob')],
  )
})

t.test('ping: the app answering 401 to nobody is up; a 500 or no answer is down', async (t) => {
  // A timeout wide enough that a loaded machine still answers the first ping inside it; the
  // slow answer is far past it.
  const source = sourceWith({ timeoutMs: 1000 })
  await t.resolves(source.ping())
  app.force({ status: 500, body: '' })
  await t.rejects(source.ping(), StoreUnavailableError)
  app.force({ delayMs: 5000 })
  await t.rejects(source.ping(), StoreUnavailableError)
})

t.test('the app closing kept-alive connections between calls is not an outage', async (t) => {
  const source = sourceWith()
  const cookie = app.login('alice', [])
  t.ok((await identify(source, header(cookie))).ok)
  const reopen = await app.stop()
  await reopen()
  t.ok((await identify(source, header(cookie))).ok, 'a fresh connection after the reset')
})

t.test('fuzz: any body of a 200 is an identity, no user, or a 503, never a throw', async (t) => {
  const source = sourceWith()
  const cookie = app.login('alice', [])
  let runs = 0
  const body = fc.oneof(
    fc.json(),
    fc.record({ user: fc.jsonValue(), groups: fc.jsonValue() }).map((o) => JSON.stringify(o)),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  )
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      runs++
      app.force({ body: b })
      const r = await identify(source, header(cookie)).catch((err: unknown) => err)
      if (r instanceof StoreUnavailableError) return true
      const result = r as IdentityResult
      if (!result.ok) return result.reason === GW_ERR_SESSION_NO_USER
      return (
        typeof result.identity.user === 'string' &&
        result.identity.user.length > 0 &&
        result.identity.groups.every((g) => typeof g === 'string' && g.length > 0)
      )
    }),
    { numRuns: 300 },
  )
  t.equal(runs, 300)
})
