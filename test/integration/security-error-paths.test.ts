// Every refusal and failure path, driven by a fast-check property: no reply other than the allowed
// 200 ever carries an X-Accel header (checked on a socket straight to the gateway), and through
// real nginx no such reply ever turns into a file's bytes.
//
// The gateway is the real app (buildApp) with chaos dependencies (test/harness/chaos-gateway.ts):
// each request picks, by cookie, a session store that is down, answers late (what the Redis
// store's command timeout produces), throws an Error or throws synchronously; an ACL whose
// decide() throws an Error, a string, or an error carrying a 4xx status, or returns a policy with
// a header-breaking Cache-Control; and test hooks that set every X-Accel header before any
// decision (through Fastify, or on Node's response behind its back), set one and then fail, or fail
// in onSend. Sessions are real ones
// in real Redis, including malformed ones (arrays, strings, ids of the wrong type, a __proto__
// key, a bad expiry). A small model of SCENARIO_ACL says what each request must get.
//
// Then the real outages: a store that never answers (nginx's proxy_read_timeout ends it), Redis
// paused (SIGSTOP: the command timeout) and Redis stopped.

import { STATUS_CODES } from 'node:http'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import {
  ACCEL_HEADERS,
  type AclMode,
  type ChaosGateway,
  cookieWithChaos,
  type HookMode,
  type StoreMode,
  startChaosGateway,
} from '../harness/chaos-gateway.js'
import { TEST_SECRET } from '../harness/gateway.js'
import { type RawResponse, rawGet } from '../harness/http.js'
import { type NginxServer, startNginx } from '../harness/nginx.js'
import { forEachLimit, Histogram } from '../harness/pool.js'
import { sleep } from '../harness/process.js'
import { type RedisServer, startRedis } from '../harness/redis.js'
import { makeScenarioTree, scenarioUsersYaml } from '../harness/scenario.js'

const RUNS = Number(process.env.ERROR_PATH_RUNS ?? 1000)
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31)

const tree = await makeScenarioTree()
const redis: RedisServer = await startRedis()
let chaos: ChaosGateway | undefined
let nginx: NginxServer | undefined
t.teardown(async () => {
  await nginx?.stop()
  await chaos?.stop()
  await redis.stop()
  await tree.cleanup()
})
chaos = await startChaosGateway({
  filesRoot: tree.root,
  redisUrl: redis.url,
  usersYaml: await scenarioUsersYaml(),
})
nginx = await startNginx({ gatewayPort: chaos.port, filesRoot: tree.root })
const gw = chaos
const ngx = nginx
const files = tree.files

// ---- who is asking: real sessions in Redis, well-formed or not -------------------------------

interface Who {
  user: string | null
  groups: string[]
}
const ANON: Who = { user: null, groups: [] }

interface SubjectCase {
  /** A session stored under `sess-<name>` and a cookie signed for it. */
  stored?: unknown
  /** Signed, but nothing stored under it. */
  signedOnly?: boolean
  /** A Cookie header not signed by us. */
  rawCookie?: string
  who: Who
}

const future = () => new Date(Date.now() + 3_600_000).toISOString()
const SUBJECTS: Record<string, SubjectCase> = {
  none: { who: ANON },
  alice: {
    stored: { cookie: { expires: future() }, user: { id: 'alice', groups: ['finance'] } },
    who: { user: 'alice', groups: ['finance'] },
  },
  bob: {
    stored: { cookie: { expires: future() }, user: { id: 'bob', groups: [] } },
    who: { user: 'bob', groups: [] },
  },
  unknown: { signedOnly: true, who: ANON },
  expired: {
    stored: { cookie: { expires: new Date(Date.now() - 1000).toISOString() }, user: { id: 'alice' } },
    who: ANON,
  },
  badExpiry: { stored: { cookie: { expires: 'not a date' }, user: { id: 'alice' } }, who: ANON },
  array: { stored: ['alice'], who: ANON },
  string: { stored: 'alice', who: ANON },
  number: { stored: 42, who: ANON },
  emptyId: { stored: { user: { id: '' } }, who: ANON },
  objectId: { stored: { user: { id: { id: 'alice' } } }, who: ANON },
  protoUser: { stored: JSON.parse('{"__proto__":{"user":{"id":"alice","groups":["finance"]}}}'), who: ANON },
  stringGroups: {
    stored: { user: { id: 'alice', groups: 'finance' } },
    who: { user: 'alice', groups: ['finance'] },
  },
  numericId: {
    stored: { user: { id: 7, groups: [42, null, 'finance '] } },
    who: { user: '7', groups: ['finance '] },
  },
  tampered: { rawCookie: 'tampered', who: ANON },
}
const signer = new SessionCookieVerifier([TEST_SECRET], '')
const cookies: Record<string, string | null> = {}
for (const [name, s] of Object.entries(SUBJECTS)) {
  if (s.stored !== undefined) await gw.inner.set(`sess-${name}`, s.stored as Record<string, unknown>, 3600)
  if (s.stored !== undefined || s.signedOnly)
    cookies[name] = `sid=${encodeURIComponent(signer.sign(`sess-${name}`))}`
  else cookies[name] = null
}
const aliceCookie = cookies.alice as string
cookies.tampered = aliceCookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
/** True when the gateway reads the store for this subject (its cookie carries a valid signature). */
const readsStore = (name: string) =>
  SUBJECTS[name]?.stored !== undefined || SUBJECTS[name]?.signedOnly === true

// ---- what is asked for ------------------------------------------------------------------------

interface PathCase {
  raw: string
  /** The decoded path when the gateway accepts it. */
  path?: string
  /** 'framework': refused by the router (bad UTF-8); 'canonical': by the canonical path. */
  bad?: 'framework' | 'canonical'
  /** nginx answers 400 itself (an encoded NUL) before the gateway sees the request. */
  nginxRefuses?: true
}
const PATHS: PathCase[] = [
  { raw: 'public/hello.txt', path: 'public/hello.txt' },
  { raw: 'public/missing.txt', path: 'public/missing.txt' },
  { raw: 'reports/q1.pdf', path: 'reports/q1.pdf' },
  { raw: 'home/alice/own.txt', path: 'home/alice/own.txt' },
  { raw: 'home/bob/own.txt', path: 'home/bob/own.txt' },
  { raw: 'hidden/secret.txt', path: 'hidden/secret.txt' },
  { raw: 'names/a%2Bb.txt', path: 'names/a+b.txt' },
  { raw: 'slow/big.bin', path: 'slow/big.bin' },
  { raw: 'other/x.txt', path: 'other/x.txt' },
  { raw: 'public/../reports/q1.pdf', bad: 'canonical' },
  { raw: 'public/%2e%2e/reports/q1.pdf', bad: 'canonical' },
  { raw: 'reports%2fq1.pdf', bad: 'canonical' },
  { raw: 'public//hello.txt', bad: 'canonical' },
  { raw: 'public/hello.txt%00', bad: 'canonical', nginxRefuses: true },
  { raw: 'reports/q1.pdf%c0%ae', bad: 'framework' },
]

/** SCENARIO_ACL, by hand: the decision for `path` and `who`. */
function decide(path: string, who: Who): { allow: boolean; refusal: 403 | 404 } {
  const [top, second] = path.split('/')
  const authenticated = who.user !== null
  if (top === 'public') return { allow: true, refusal: 403 }
  if (top === 'home' && authenticated && second === who.user) return { allow: true, refusal: 403 }
  if (top === 'names' || top === 'slow') return { allow: authenticated, refusal: 403 }
  if (top === 'reports') return { allow: who.groups.includes('finance'), refusal: 403 }
  if (top === 'hidden') return { allow: false, refusal: 404 }
  return { allow: false, refusal: 403 }
}

interface Case {
  method: string
  path: PathCase
  subject: string
  randomCookie: string | null
  store: StoreMode
  acl: AclMode
  hook: HookMode
}

/** What the gateway must answer, and whether that answer is the allowed download. */
function expectGateway(c: Case): { status: number; allowed: boolean } {
  const want = expectBeforeOnSend(c)
  // An onSend hook that fails turns any reply Fastify sends into the error handler's 500. The
  // allowed download is written on Node's response, past every onSend hook (had it gone through,
  // it would be a 500 too), and router-level 400s never reach the app's hooks.
  if (c.hook === 'onsend-throw' && !want.allowed && c.path.bad !== 'framework') {
    return { status: 500, allowed: false }
  }
  return want
}

function expectBeforeOnSend(c: Case): { status: number; allowed: boolean } {
  if (c.path.bad === 'framework') return { status: 400, allowed: false }
  if (c.method !== 'GET' && c.method !== 'HEAD') return { status: 405, allowed: false }
  if (c.hook === 'prehandler-throw' || c.hook === 'throw-200') return { status: 500, allowed: false }
  if (c.path.bad) return { status: 400, allowed: false }
  let who = ANON
  if (c.randomCookie === null && readsStore(c.subject)) {
    if (c.store === 'unavailable' || c.store === 'late') return { status: 503, allowed: false }
    if (c.store === 'throw' || c.store === 'throw-sync' || c.store === 'throw-cached')
      return { status: 500, allowed: false }
    who = (SUBJECTS[c.subject] as SubjectCase).who
  }
  if (c.acl === 'throw' || c.acl === 'throw-value') return { status: 500, allowed: false }
  // A thrown error is a bug whatever status it carries: only Fastify's own client errors keep a 4xx.
  if (c.acl === 'throw-4xx') return { status: 500, allowed: false }
  // A policy whose Cache-Control would split the header block: Node refuses to write it.
  if (c.acl === 'bogus-policy') return { status: 500, allowed: false }
  const d = decide(c.path.path as string, who)
  if (!d.allow) return { status: d.refusal === 404 ? 404 : who.user === null ? 401 : 403, allowed: false }
  return { status: 200, allowed: true }
}

const PROTECTED = Object.entries(files).filter(([p]) => !p.startsWith('public/'))

function headersFor(c: Case, viaNginx: boolean): Record<string, string> {
  const h: Record<string, string> = {}
  const cookie = cookieWithChaos(c.randomCookie ?? cookies[c.subject], c)
  if (cookie) h.cookie = cookie
  // 3000 bytes at the slow rule's 1 KiB/s would take seconds: ask nginx for a small range.
  if (viaNginx && c.path.path === 'slow/big.bin') h.range = 'bytes=0-99'
  if (c.method !== 'GET' && c.method !== 'HEAD') h['content-length'] = '0'
  return h
}

const accelOn = (res: RawResponse) => ACCEL_HEADERS.filter((h) => res.headers[h] !== undefined)
const leaked = (res: RawResponse, except?: string) =>
  PROTECTED.filter(([p, bytes]) => p !== except && res.body.includes(bytes.subarray(0, 64))).map(([p]) => p)

const gwStatuses = new Histogram()
const nginxStatuses = new Histogram()
let runs = 0

async function check(c: Case): Promise<void> {
  runs++
  const target = `/download/${c.path.raw}`
  const want = expectGateway(c)
  const label = JSON.stringify(c)

  const direct = await rawGet(gw.port, target, headersFor(c, false), { method: c.method, timeoutMs: 5000 })
  gwStatuses.add(direct.status)
  if (direct.status !== want.status)
    throw new Error(`gateway ${direct.status}, expected ${want.status}: ${label}`)
  // The status line's text matches its code (a 500 after a refused header once said "500 OK").
  const statusLine = direct.raw.subarray(0, direct.raw.indexOf('\r\n')).toString('latin1')
  if (!statusLine.endsWith(` ${direct.status} ${STATUS_CODES[direct.status]}`))
    throw new Error(`status line "${statusLine}": ${label}`)
  const accel = accelOn(direct)
  if (!want.allowed && accel.length > 0) throw new Error(`${accel} on a ${direct.status}: ${label}`)
  if (want.allowed) {
    const expectedTarget = `/_protected/${(c.path.path as string).split('/').map(encodeURIComponent).join('/')}`
    if (direct.headers['x-accel-redirect'] !== expectedTarget) {
      throw new Error(`allowed reply redirects to ${direct.headers['x-accel-redirect']}: ${label}`)
    }
    if (direct.body.length !== 0) throw new Error(`allowed reply has a body: ${label}`)
    // Only the X-Accel headers the decision set: none a careless plugin added earlier survive.
    const own =
      c.path.path === 'slow/big.bin' ? ['x-accel-redirect', 'x-accel-limit-rate'] : ['x-accel-redirect']
    if (accel.join() !== own.join()) throw new Error(`allowed reply carries ${accel}: ${label}`)
  }

  const proxied = await rawGet(ngx.port, target, headersFor(c, true), { method: c.method, timeoutMs: 5000 })
  nginxStatuses.add(proxied.status)
  const file = c.path.path ? files[c.path.path] : undefined
  let nginxWant = want.status
  if (c.path.nginxRefuses) nginxWant = 400
  else if (want.allowed && !file) nginxWant = 404
  else if (want.allowed && c.path.path === 'slow/big.bin') nginxWant = 206
  if (proxied.status !== nginxWant)
    throw new Error(`nginx ${proxied.status}, expected ${nginxWant}: ${label}`)
  const clientAccel = accelOn(proxied)
  if (clientAccel.length > 0) throw new Error(`${clientAccel} reached the client: ${label}`)
  const bytesOf = leaked(proxied, want.allowed ? c.path.path : undefined)
  if (bytesOf.length > 0) throw new Error(`bytes of ${bytesOf} in a ${proxied.status}: ${label}`)
  if (want.allowed && file && c.method === 'GET') {
    const expected = proxied.status === 206 ? file.subarray(0, 100) : file
    if (!proxied.body.equals(expected)) throw new Error(`allowed download is not the file: ${label}`)
  }
}

const subjectNames = Object.keys(SUBJECTS)
/** `value` repeated `n` times: weights for fc.constantFrom, so the allowed path is common too. */
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value)
/** Uniform over `values`: fc.constantFrom leans towards the first ones. */
const pick = <T>(...values: T[]): fc.Arbitrary<T> => fc.noBias(fc.constantFrom(...values))
const caseArb: fc.Arbitrary<Case> = fc.record({
  method: pick(...times(6, 'GET'), ...times(2, 'HEAD'), 'POST', 'DELETE'),
  path: pick(...PATHS),
  subject: pick(...subjectNames),
  // Now and then a Cookie header that is not ours at all (printable ASCII, any shape).
  randomCookie: fc.oneof(
    { arbitrary: fc.constant(null), weight: 9 },
    {
      arbitrary: fc
        .string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
          maxLength: 80,
        })
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
      weight: 1,
    },
  ),
  store: pick<StoreMode>(
    ...times(8, 'ok' as const),
    'unavailable',
    'late',
    'throw',
    'throw-sync',
    'throw-cached',
  ),
  acl: pick<AclMode>(...times(10, 'real' as const), 'throw', 'throw-value', 'throw-4xx', 'bogus-policy'),
  hook: pick<HookMode>(
    ...times(5, 'none' as const),
    ...times(4, 'early-accel' as const),
    ...times(2, 'raw-accel' as const),
    'prehandler-throw',
    'throw-200',
    'onsend-throw',
  ),
})

// Started first: nginx gives up on it only after its proxy_read_timeout (10 s).
const neverThroughNginx = rawGet(
  ngx.port,
  '/download/reports/q1.pdf',
  { cookie: cookieWithChaos(aliceCookie, { store: 'never', hook: 'early-accel' }) as string },
  { timeoutMs: 30_000 },
)

t.test(
  'error paths (property): only the allowed 200 carries X-Accel, and only it becomes a file',
  async (t) => {
    t.comment(`fast-check seed ${SEED} (FC_SEED to replay), ${RUNS} runs (ERROR_PATH_RUNS)`)
    // A few fixed cases first: each failure with the request that would otherwise be allowed.
    const allowed = { method: 'GET', path: PATHS[2] as PathCase, subject: 'alice', randomCookie: null }
    const examples: [Case][] = [
      ...(['unavailable', 'late', 'throw', 'throw-sync', 'throw-cached'] as const).map((store): [Case] => [
        { ...allowed, store, acl: 'real', hook: 'early-accel' },
      ]),
      ...(['throw', 'throw-value', 'throw-4xx', 'bogus-policy'] as const).map((acl): [Case] => [
        { ...allowed, store: 'ok', acl, hook: 'early-accel' },
      ]),
      [{ ...allowed, store: 'ok', acl: 'real', hook: 'raw-accel' }],
      [{ ...allowed, store: 'ok', acl: 'bogus-policy', hook: 'raw-accel' }],
      ...(['prehandler-throw', 'throw-200', 'onsend-throw'] as const).map((hook): [Case] => [
        { ...allowed, store: 'ok', acl: 'real', hook },
      ]),
    ]
    await fc.assert(fc.asyncProperty(caseArb, check), {
      numRuns: RUNS,
      seed: SEED,
      examples,
      endOnFailure: true,
    })
    t.comment(`error-path cases: ${runs} (each sent straight to the gateway and through nginx)`)
    t.comment(`gateway statuses { ${gwStatuses} }`)
    t.comment(`through nginx { ${nginxStatuses} }`)
    t.ok(gw.cachedReads() > 0, `the runs reached the session cache's answers (${gw.cachedReads()})`)
    for (const status of ['200', '400', '401', '403', '404', '405', '500', '503']) {
      t.ok(gwStatuses.counts.has(status), `the runs reached a ${status}`)
    }
  },
)

t.test(
  'a bug after a session read from the cache: 500 from the error handler, no X-Accel, no file',
  async (t) => {
    // The cached path finishes the decision in a callback, outside Fastify's promise handling:
    // its errors must still reach the error handler. Served once first, so the cache holds it.
    const path = '/download/reports/q1.pdf'
    const first = await rawGet(gw.port, path, { cookie: aliceCookie })
    t.equal(first.status, 200, 'alice may read it')
    for (const acl of ['throw', 'throw-value', 'bogus-policy'] as const) {
      for (const hook of ['none', 'early-accel', 'raw-accel'] as const) {
        const before = gw.cachedReads()
        const res = await rawGet(gw.port, path, {
          cookie: cookieWithChaos(aliceCookie, { acl, hook }) as string,
        })
        t.equal(gw.cachedReads(), before + 1, `${acl}, hook ${hook}: answered from the session cache`)
        t.equal(res.status, 500, `${acl}, hook ${hook}: the error handler's 500`)
        t.same(accelOn(res), [], `${acl}, hook ${hook}: no X-Accel header`)
        t.same(leaked(res), [], `${acl}, hook ${hook}: no protected bytes`)
      }
    }
    const line = gw.logs().findLast((l) => l.msg === 'decision')
    t.equal(line?.code, 'GW_ERR_INTERNAL', 'the decision line says why')
  },
)

t.test('a store that never answers: no reply from the gateway, 504 from nginx, never the file', async (t) => {
  const direct = rawGet(
    gw.port,
    '/download/reports/q1.pdf',
    { cookie: cookieWithChaos(aliceCookie, { store: 'never', hook: 'early-accel' }) as string },
    { timeoutMs: 1500 },
  )
  await t.rejects(
    direct,
    /no complete response/,
    'the gateway itself has no deadline: the store contract does',
  )
  const res = await neverThroughNginx
  t.equal(res.status, 504, 'nginx proxy_read_timeout')
  t.same(accelOn(res), [])
  t.same(leaked(res), [])
  t.ok(gw.pendingNever() >= 1, 'the hung store reads are still pending')
})

/** The same small matrix for each outage: who x what x method x careless hook. */
async function outageMatrix(t: Test, what: string): Promise<void> {
  const statuses = new Histogram()
  const cases: { cookie: string | null; path: string; method: string; hook: HookMode }[] = []
  for (const cookie of [cookies.alice, cookies.bob, null])
    for (const path of ['reports/q1.pdf', 'home/alice/own.txt', 'home/bob/own.txt', 'public/hello.txt'])
      for (const method of ['GET', 'HEAD'])
        for (const hook of ['none', 'early-accel', 'raw-accel'] as HookMode[])
          cases.push({ cookie: cookie ?? null, path, method, hook })
  await forEachLimit(cases, 16, async (c) => {
    const cookie = cookieWithChaos(c.cookie, { hook: c.hook })
    const headers: Record<string, string> = cookie ? { cookie } : {}
    for (const port of [gw.port, ngx.port]) {
      const res = await rawGet(port, `/download/${c.path}`, headers, { method: c.method, timeoutMs: 10_000 })
      const where = `${port === gw.port ? 'gateway' : 'nginx'} ${c.method} ${c.path} ${c.cookie ? 'with' : 'without'} session, hook ${c.hook}`
      statuses.add(`${port === gw.port ? 'gateway' : 'nginx'} ${res.status}`)
      if (c.cookie) t.equal(res.status, 503, `${what}: ${where}`)
      else if (c.path.startsWith('public/')) t.equal(res.status, 200, `${what}: ${where} needs no store`)
      else t.equal(res.status, 401, `${what}: ${where}`)
      if (port === gw.port && res.status !== 200) t.same(accelOn(res), [], `${what}: no X-Accel on ${where}`)
      t.same(leaked(res), [], `${what}: no protected bytes on ${where}`)
    }
  })
  t.comment(`${what}: ${cases.length * 2} requests { ${statuses} }`)
}

t.test('Redis paused (SIGSTOP): 503 within the command timeout, no X-Accel, no file', async (t) => {
  redis.pause()
  try {
    // The chaos gateway keeps sessions in its client cache, answered only while its heartbeat PING
    // is answered: within a quarter second of the pause it stops answering from memory, and once
    // that PING times out it forgets every session. From then on every read goes to Redis.
    const deadline = performance.now() + 2000
    while (gw.inner.cachedSessions > 0 && performance.now() < deadline) await sleep(20)
    t.equal(gw.inner.cachedSessions, 0, 'the session cache let go of the paused Redis')
    await outageMatrix(t, 'paused')
  } finally {
    redis.resume()
  }
})

t.test('Redis stopped: 503 for every session, no X-Accel, no file', async (t) => {
  await redis.stop()
  await outageMatrix(t, 'stopped')
})
