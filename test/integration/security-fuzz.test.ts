// Fuzzing the running stack (real nginx, the gateway, real Redis) for a bounded time: random and
// mutated request lines, paths, cookies and headers, sent raw over sockets, mostly through nginx
// and a quarter straight to the gateway (so Node's own parser and Fastify see the garbage too).
// FUZZ_SECONDS (default 20) bounds the time, FUZZ_SEED replays a run (the seed is printed).
//
// Pass: no 5xx (nothing here takes the store down, so not even a 503; nginx's 505 for an HTTP
// version it does not speak is its parser's answer, not a failure), no byte received carries any
// part of a file the request's cookie does not grant (checked on every byte, with or without a
// parsable response: HTTP/0.9 answers have no status line), no X-Accel header reaches a client through nginx,
// the gateway still answers /healthz afterwards, and its memory stays flat (sampled after a forced
// GC before and after; the harness keeps every log line in memory, which is subtracted).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { readCorpusLines } from '../harness/corpora.js'
import { rawGet } from '../harness/http.js'
import { forEachLimit, Histogram } from '../harness/pool.js'
import { type Exchange, rawExchange } from '../harness/response-checks.js'
import { downloadPath, HOSTILE_NAMES, type Scenario, startScenario } from '../harness/scenario.js'

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20)
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) >>> 0
const CONCURRENCY = 16
const MIB = 1024 * 1024

// A forced GC makes the heap figures comparable; tap does not pass --expose-gc to test files.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), a | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const random = prng(SEED)
const int = (n: number) => Math.floor(random() * n)
const chance = (p: number) => random() < p
const oneOf = <T>(values: readonly T[]): T => values[int(values.length)] as T

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { nginx, gateway, files } = scenario
const alice = await scenario.login('alice')
const bob = await scenario.login('bob')

/** Bytes as a latin1 string: one char per byte, so raw UTF-8 and controls survive as sent. */
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1')

const SEED_PATHS = [
  'public/hello.txt',
  'reports/q1.pdf',
  'home/alice/own.txt',
  'home/bob/own.txt',
  'hidden/secret.txt',
  'public/nope.txt',
  'names',
  ...HOSTILE_NAMES.map((n) => downloadPath(`names/${n}`).slice('/download/'.length)),
  ...readCorpusLines('traversal/directory_traversal.txt'),
  ...readCorpusLines('traversal/deep_traversal.txt')
    .slice(0, 60)
    .map((l) => l.replaceAll('{FILE}', 'reports/q1.pdf')),
]

const TOKENS = [
  '..',
  '.',
  '/',
  '//',
  '\\',
  '%2e',
  '%2E',
  '%2e%2e',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%00',
  '%',
  '%%',
  '%zz',
  '%c0%ae',
  '%c0%af',
  '%e0%80%ae',
  '%ff',
  '%fe%ff',
  '%u002e',
  '?',
  '??',
  '#',
  ';',
  ';a=b',
  '&',
  '=',
  '+',
  '%20',
  '%0d%0a',
  '%0a',
  '%09',
  '*',
  '~',
  '@',
  ':',
  '$',
  '!',
  "'",
  '"',
  '<',
  '>',
  '{',
  '}',
  '|',
  '^',
  '`',
  bytes('é'),
  bytes('\u202e'),
  bytes('😀'),
  '\x80',
  '\xff',
  '\x7f',
  '%ef%bf%bd',
  '%ed%a0%80',
  '%f4%90%80%80',
  '_protected',
  '../_protected/',
  '/download/',
  '%2e%2e%2f',
  '..%2f',
  '..\\',
  '.%2e',
  '%2e.',
]

function mutatePath(path: string): string {
  let p = path
  const rounds = 1 + int(4)
  for (let r = 0; r < rounds; r++) {
    const at = int(p.length + 1)
    switch (int(9)) {
      case 0:
      case 1:
        p = p.slice(0, at) + oneOf(TOKENS) + p.slice(at)
        break
      case 2:
        p = p.slice(0, at) + p.slice(at + 1 + int(6))
        break
      case 3: {
        const segments = p.split('/')
        const i = int(segments.length)
        segments.splice(i, 0, segments[i] ?? '..')
        p = segments.join('/')
        break
      }
      case 4:
        p = p.slice(0, at) + String.fromCharCode(0x21 + int(0x5e)) + p.slice(at + 1)
        break
      case 5: {
        // Percent-encode one character, or decode one escape.
        const c = p.charCodeAt(at)
        if (!Number.isNaN(c)) p = `${p.slice(0, at)}%${c.toString(16).padStart(2, '0')}${p.slice(at + 1)}`
        break
      }
      case 6:
        p = p.replace(/%[0-9a-fA-F]{2}/, (m) => String.fromCharCode(Number.parseInt(m.slice(1), 16)))
        break
      case 7:
        if (chance(0.2)) p = `${p}/${oneOf(['a', '..', '%2e%2e', 'x'.repeat(300)]).repeat(1 + int(400))}`
        break
      default:
        p = p.replace(/%[0-9a-f]{2}/i, (m) => (chance(0.5) ? m.toUpperCase() : m.toLowerCase()))
    }
  }
  return p
}

function mutateCookie(cookie: string): string {
  switch (int(8)) {
    case 0:
      return cookie.slice(0, int(cookie.length))
    case 1:
      return `${cookie}${oneOf(['x', '.', '%', '%00', ';', '=', ' ', 'A'.repeat(600)])}`
    case 2: {
      const at = 4 + int(Math.max(1, cookie.length - 4))
      return cookie.slice(0, at) + String.fromCharCode(0x21 + int(0x5e)) + cookie.slice(at + 1)
    }
    case 3:
      return `${cookie}; ${cookie.replace('sid=', 'sid=x')}`
    case 4:
      return `sid=; ${cookie}`
    case 5:
      return decodeURIComponent(cookie)
    case 6:
      return cookie.replace('sid=', oneOf(['SID=', 'sid =', ' sid=', 'sid==', 's:sid=']))
    default:
      return `sid=${oneOf(['', '.', 'a.b', 's:a.b', '%zz', 'x'.repeat(2000), '\u00e9'])}`
  }
}

const METHODS = [
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'FOO',
  'get',
  'Get',
  'head',
  'GET ',
  'G\tT',
  '',
]
const VERSIONS = ['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/9.9', 'http/1.1', '']

interface FuzzCase {
  viaNginx: boolean
  version: string
  request: Buffer
  /** The Cookie header may grant alice's files (see carries()). */
  alice: boolean
  bob: boolean
  label: string
}

/**
 * True when a (possibly mutated) Cookie header still holds `session`'s whole signed value, raw or
 * percent-decoded: `sid=<alice>;` or `sid=; sid=<alice>` may rightly still be alice. Any other
 * mutation breaks the signature, and then her files must not come back.
 */
function carries(header: string | null, session: string): boolean {
  if (header === null) return false
  const value = session.slice(session.indexOf('=') + 1)
  return header.includes(value) || header.includes(decodeURIComponent(value))
}

function makeCase(): FuzzCase {
  const viaNginx = chance(0.75)
  const method = chance(0.75) ? 'GET' : chance(0.4) ? 'HEAD' : oneOf(METHODS)
  const base = oneOf(SEED_PATHS)
  const path = chance(0.1) ? base : mutatePath(base)
  const version = chance(0.93) ? 'HTTP/1.1' : oneOf(VERSIONS)
  const headers: string[] = []
  if (chance(0.97))
    headers.push(
      `Host: ${chance(0.95) ? 'localhost' : oneOf(['', 'evil.example', 'a b', 'localhost:1', '[::1]'])}`,
    )
  headers.push('Connection: close')
  let cookie: string | null = null
  const who = int(4)
  if (who === 1) cookie = alice
  else if (who === 2) cookie = bob
  if (cookie && chance(0.3)) cookie = mutateCookie(cookie)
  if (who === 3) cookie = mutateCookie(oneOf([alice, bob]))
  if (cookie !== null) headers.push(`Cookie: ${cookie}`)
  let body = ''
  for (let i = int(4); i > 0; i--) {
    switch (int(10)) {
      case 0:
        headers.push(
          `Range: ${oneOf(['bytes=0-0', 'bytes=-1', 'bytes=10-', 'bytes=0-1,3-4,5-6', 'bytes=99999999999999999999-', 'bytes=abc', 'items=0-1', 'bytes=5-1'])}`,
        )
        break
      case 1:
        headers.push(`If-None-Match: ${oneOf(['*', '"x"', 'W/"1"'])}`)
        break
      case 2:
        headers.push('X-Accel-Redirect: /_protected/reports/q1.pdf')
        break
      case 3:
        headers.push(`X-Forwarded-For: ${oneOf(['1.2.3.4', 'x', '127.0.0.1, 10.0.0.1'])}`)
        break
      case 4:
        headers.push('Transfer-Encoding: chunked')
        body = '0\r\n\r\n'
        break
      case 5: {
        const n = int(20)
        headers.push(`Content-Length: ${n}`)
        body = 'b'.repeat(n)
        break
      }
      case 6:
        headers.push('Expect: 100-continue')
        break
      case 7:
        headers.push(`X-Long: ${'y'.repeat(chance(0.5) ? 4000 : 9000)}`)
        break
      case 8:
        headers.push(`X-Request-Id: ${oneOf(['', 'a\u00e9', '../../x', 'z'.repeat(300)])}`)
        break
      default:
        headers.push(
          oneOf([
            'Accept-Encoding: gzip',
            'X-Original-URL: /_protected/reports/q1.pdf',
            'X-Rewrite-URL: /reports/q1.pdf',
            'Authorization: Basic YWxpY2U6cHctYWxpY2U=',
            'Foo:bar',
            'Bad Header: x',
            ': empty',
          ]),
        )
    }
  }
  const eol = chance(0.97) ? '\r\n' : '\n'
  const head = `${method} /download/${path} ${version}`.trimEnd()
  const request = Buffer.from(`${head}${eol}${headers.join(eol)}${eol}${eol}${body}`, 'latin1')
  return {
    viaNginx,
    version,
    request,
    alice: carries(cookie, alice),
    bob: carries(cookie, bob),
    label: JSON.stringify(request.toString('latin1').slice(0, 300)),
  }
}

const q1 = files['reports/q1.pdf'] as Buffer
const secrets = [
  { name: 'outside secret', bytes: scenario.outsideSecret, grantedTo: () => false },
  { name: 'hidden file', bytes: files['hidden/secret.txt'] as Buffer, grantedTo: () => false },
  { name: 'reports/q1.pdf', bytes: q1.subarray(1000, 1048), grantedTo: (c: FuzzCase) => c.alice },
  { name: "alice's file", bytes: files['home/alice/own.txt'] as Buffer, grantedTo: (c: FuzzCase) => c.alice },
  { name: "bob's file", bytes: files['home/bob/own.txt'] as Buffer, grantedTo: (c: FuzzCase) => c.bob },
]

function heap() {
  gc()
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, rss: m.rss, logs: gateway.logText().length }
}

t.test(`fuzz: ${SECONDS} s of hostile requests, no 5xx, no leak, no crash, flat memory`, async (t) => {
  t.comment(`fuzz seed ${SEED} (FUZZ_SEED to replay), ${SECONDS} s (FUZZ_SECONDS)`)
  // Warm-up: JIT, pools and caches settle before the baseline.
  await forEachLimit(Array.from({ length: 300 }, makeCase), CONCURRENCY, (c) => send(c, () => undefined))
  const before = heap()

  const statuses = new Histogram()
  const failures: string[] = []
  const fail = (msg: string) => {
    if (failures.length < 20) failures.push(msg)
  }
  let cases = 0
  const deadline = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const c = makeCase()
        cases++
        await send(c, (status, ex) => {
          statuses.add(`${c.viaNginx ? 'nginx' : 'gateway'} ${status}`)
          // nginx's own answer to an HTTP version it does not speak; not a failure of anything.
          const versionRefusal = status === 505 && c.viaNginx && !/^HTTP\/1\.[01]$/.test(c.version)
          if (typeof status === 'number' && status >= 500 && !versionRefusal) fail(`${status} for ${c.label}`)
          if (ex.end === 'timeout') fail(`no end within 10 s for ${c.label}`)
          for (const s of secrets) {
            if (!s.grantedTo(c) && ex.raw.includes(s.bytes)) fail(`${s.name} in a ${status} for ${c.label}`)
          }
          const headers = ex.response ? Object.keys(ex.response.headers) : []
          if (c.viaNginx && headers.some((h) => h.startsWith('x-accel-'))) {
            fail(`X-Accel header reached the client for ${c.label}`)
          }
        })
      }
    }),
  )
  const after = heap()

  const health = await rawGet(nginx.port, '/healthz')
  const direct = await rawGet(gateway.port, '/healthz')
  const stillServes = await rawGet(nginx.port, '/download/reports/q1.pdf', { cookie: alice })

  const growth = (after.heap - before.heap) / MIB
  const logGrowth = (after.logs - before.logs) / MIB
  t.comment(`fuzz cases: ${cases} in ${SECONDS} s (+300 warm-up)`)
  t.comment(`statuses { ${statuses} }`)
  t.comment(
    `memory after GC: heap ${(before.heap / MIB).toFixed(1)} -> ${(after.heap / MIB).toFixed(1)} MiB ` +
      `(+${growth.toFixed(1)}, of which ${logGrowth.toFixed(1)} MiB is the harness's captured log), ` +
      `RSS ${(before.rss / MIB).toFixed(1)} -> ${(after.rss / MIB).toFixed(1)} MiB`,
  )
  t.same(failures, [], 'no 5xx, no secret bytes, no X-Accel header at the client')
  t.equal(health.status, 200, 'healthz through nginx')
  t.equal(direct.status, 200, 'healthz on the gateway')
  t.equal(stillServes.status, 200, 'still serves an allowed download')
  t.ok(stillServes.body.equals(q1), 'byte for byte')
  t.ok(
    growth - logGrowth < 50,
    `heap growth without the captured log: ${(growth - logGrowth).toFixed(1)} MiB < 50`,
  )
  t.ok(cases > SECONDS * 50, `a meaningful number of cases (${cases})`)
})

/** Sends one case; reports its status, or how it ended without an HTTP/1.x response. */
async function send(c: FuzzCase, report: (status: number | string, ex: Exchange) => void): Promise<void> {
  const ex = await rawExchange(c.viaNginx ? nginx.port : gateway.port, c.request, 10_000)
  if (ex.response) report(ex.response.status, ex)
  else if (ex.end === 'closed')
    report(ex.raw.length > 0 ? 'closed, no status line' : 'closed, nothing sent', ex)
  else report(ex.end, ex)
}
