// Methods, HEAD, Range and Cache-Control, in both delivery modes (x-accel: through nginx and also
// straight to the gateway's socket; direct: the gateway alone).
//
// - Every method but GET and HEAD is refused without a byte of the file, even for a file anyone
//   may read: WebDAV and custom methods, TRACE, CONNECT, lowercase spellings (methods are
//   case-sensitive: `get` is not GET), and a POST asking to be treated as GET. The refusal is a 4xx
//   (405 from the gateway; nginx and Node's parser answer some spellings themselves with 400/405/
//   413), or, for CONNECT sent straight to Node, a closed connection with no answer at all.
// - HEAD and Range requests get exactly what they ask for and carry the download headers.
// - Every download reply says `Cache-Control: private, no-store` unless its rule says otherwise
//   (a `cache_control` rule is tested), and every refusal says `no-store`.
// There is no per-download counter (quota, download count) in the gateway yet, so nothing can be
// consumed by HEAD or Range; once there is one, its test belongs here.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DELIVERY_MODES, type DeliveryMode, startModeScenario } from '../harness/direct-scenario.js'
import { type RawResponse, rawGet } from '../harness/http.js'
import { type Exchange, rawExchange } from '../harness/response-checks.js'

const CACHED_ACL = `rules:
  - id: cached
    path: /public/cached/**
    allow: anyone
    cache_control: "public, max-age=60"
`
const logo = randomBytes(5000)

function prepareTree(root: string): void {
  mkdirSync(join(root, 'public/cached'))
  writeFileSync(join(root, 'public/cached/logo.png'), logo)
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
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'PURGE',
  'REPORT',
  'FOO',
  'BREW',
  'X-GET',
  'get',
  'head',
  'post',
  'Get',
  'GET_',
  'GETS',
]

const ACCEL = [
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-charset',
  'x-accel-buffering',
  'x-accel-expires',
]

for (const mode of DELIVERY_MODES) {
  t.test(`methods and caching (${mode})`, async (t) => {
    await run(t, mode)
  })
}

async function run(t: Test, mode: DeliveryMode): Promise<void> {
  const s = await startModeScenario(mode, { prepareTree, aclFiles: { '05-cache.yaml': CACHED_ACL } })
  t.teardown(() => s.stop())
  const alice = await s.login('alice')
  const bob = await s.login('bob')
  const hello = s.files['public/hello.txt'] as Buffer
  const q1 = s.files['reports/q1.pdf'] as Buffer
  // Where requests go: the front (nginx or the gateway), and in x-accel mode the gateway too.
  const ports: [string, number][] = [[mode === 'x-accel' ? 'nginx' : 'gateway', s.port]]
  if (mode === 'x-accel') ports.push(['gateway', s.gateway.port])

  await t.test('every method other than GET and HEAD is refused, never with the file', async (t) => {
    const outcomes = new Map<string, string[]>()
    for (const [where, port] of ports) {
      for (const method of METHODS) {
        for (const [label, headers, body] of [
          ['anonymous', {}, ''],
          ['alice', { cookie: alice }, ''],
          ['with a body', { cookie: alice, 'content-length': '2048' }, 'x'.repeat(2048)],
          [
            'overriding to GET',
            { cookie: alice, 'x-http-method-override': 'GET', 'x-method-override': 'GET' },
            '',
          ],
        ] as [string, Record<string, string>, string][]) {
          const path = label === 'anonymous' ? 'public/hello.txt' : 'reports/q1.pdf'
          const head = [`${method} /download/${path} HTTP/1.1`, 'Host: localhost', 'Connection: close']
          for (const [n, v] of Object.entries(headers)) head.push(`${n}: ${v}`)
          const ex = await rawExchange(
            port,
            Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'latin1'),
            5000,
          )
          const status = ex.response?.status
          const key = `${where} ${status ?? `no answer (${ex.end})`}`
          outcomes.set(key, [...(outcomes.get(key) ?? []), method])
          const what = `${where} ${method} (${label})`
          if (status === undefined) {
            t.equal(ex.raw.length, 0, `${what}: closed without a byte`)
            t.equal(method, 'CONNECT', `${what}: only CONNECT is dropped without an answer`)
          } else t.ok(status >= 400 && status < 500, `${what}: refused with ${status}`)
          t.notOk(ex.raw.includes(hello), `${what}: not the public file`)
          t.notOk(ex.raw.includes(q1.subarray(0, 64)), `${what}: not the report`)
          t.same(accelIn(ex), [], `${what}: no X-Accel header`)
          if (ex.response)
            t.equal(ex.response.headers['content-disposition'], undefined, `${what}: no download headers`)
        }
      }
    }
    t.comment(
      `${mode}: ${METHODS.length} methods x 4 requests x ${ports.length} ports: ` +
        [...outcomes].map(([k, v]) => `${k}: ${v.length} (${[...new Set(v)].join(' ')})`).join('; '),
    )
  })

  await t.test('HEAD: the headers of the download, no body, and refusals stay refusals', async (t) => {
    for (const [where, port] of ports) {
      const res = await rawGet(port, '/download/reports/q1.pdf', { cookie: alice }, { method: 'HEAD' })
      t.equal(res.status, 200, where)
      t.equal(res.body.length, 0, `${where}: no body`)
      // Straight from the gateway in x-accel mode, the download's headers travel under the names
      // nginx's internal location reads (accel-headers.ts); every client-facing reply has them.
      const [cacheControl, disposition] =
        where === 'gateway' && mode === 'x-accel'
          ? ['x-download-cache-control', 'x-download-disposition']
          : ['cache-control', 'content-disposition']
      t.equal(res.headers[cacheControl], 'private, no-store', `${where}: not cacheable`)
      t.match(res.headers[disposition], /^attachment; filename="q1\.pdf"/, where)
      if (where !== 'gateway' || mode === 'direct') {
        t.equal(res.headers['content-length'], String(q1.length), `${where}: the file's length`)
      }
      const denied = await rawGet(port, '/download/reports/q1.pdf', { cookie: bob }, { method: 'HEAD' })
      t.equal(denied.status, 403, `${where}: HEAD of a denied file`)
      t.same(accelIn(denied), [], `${where}: no X-Accel on the denied HEAD`)
    }
  })

  await t.test('Range: exactly the bytes asked for, never another file, 416 past the end', async (t) => {
    const front = s.port
    // [Range, status, first byte, one past the last byte]
    const cases: [string, number, number, number][] = [
      ['bytes=0-9', 206, 0, 10],
      ['bytes=1000-1999', 206, 1000, 2000],
      ['bytes=-10', 206, q1.length - 10, q1.length],
      ['bytes=99999-', 206, 99_999, q1.length],
      ['bytes=99990-200000', 206, 99_990, q1.length],
      ['bytes=100000-', 416, 0, 0],
      // A malformed bytes range: nginx refuses it with 416, direct mode ignores it and sends the
      // whole file (RFC 9110 allows both). Neither gives other bytes.
      ['bytes=abc', mode === 'x-accel' ? 416 : 200, 0, q1.length],
      ['items=0-9', 200, 0, q1.length],
    ]
    for (const [range, status, start, end] of cases) {
      const res = await rawGet(front, '/download/reports/q1.pdf', { cookie: alice, range })
      t.equal(res.status, status, `${range}: ${status}`)
      if (status !== 416) t.ok(res.body.equals(q1.subarray(start, end)), `${range}: exactly those bytes`)
      if (status === 206) t.equal(res.headers['content-range'], `bytes ${start}-${end - 1}/${q1.length}`)
      if (status === 416) t.equal(res.headers['content-range'], `bytes */${q1.length}`)
      t.equal(res.headers['cache-control'], 'private, no-store', `${range}: not cacheable`)
      const head = await rawGet(
        front,
        '/download/reports/q1.pdf',
        { cookie: alice, range },
        { method: 'HEAD' },
      )
      t.equal(head.status, status, `HEAD ${range}: ${status}`)
      t.equal(head.body.length, 0, `HEAD ${range}: no body`)
    }
    // Several ranges: nginx answers multipart/byteranges, direct mode the whole file (byte-range.ts).
    const multi = await rawGet(front, '/download/reports/q1.pdf', { cookie: alice, range: 'bytes=0-0,5-5' })
    if (mode === 'x-accel') {
      t.equal(multi.status, 206)
      t.match(multi.headers['content-type'], /^multipart\/byteranges/)
    } else {
      t.equal(multi.status, 200)
      t.ok(multi.body.equals(q1))
    }
    const denied = await rawGet(front, '/download/reports/q1.pdf', { cookie: bob, range: 'bytes=0-99' })
    t.equal(denied.status, 403, 'a Range on a denied file is still 403')
    t.notOk(denied.raw.includes(q1.subarray(0, 32)), 'with none of its bytes')
    const anonymous = await rawGet(front, '/download/home/alice/own.txt', { range: 'bytes=0-3' })
    t.equal(anonymous.status, 401)
    t.notOk(anonymous.raw.includes('alic'), 'not even four bytes')
  })

  await t.test(
    'Cache-Control: private, no-store on downloads, the rule`s own where it sets one',
    async (t) => {
      const front = s.port
      const checks: [string, Record<string, string>, string, number, string][] = [
        ['GET', { cookie: alice }, 'reports/q1.pdf', 200, 'private, no-store'],
        ['GET', {}, 'public/hello.txt', 200, 'private, no-store'],
        ['GET', { cookie: alice, range: 'bytes=0-1' }, 'reports/q1.pdf', 206, 'private, no-store'],
        ['GET', {}, 'public/cached/logo.png', 200, 'public, max-age=60'],
        ['HEAD', {}, 'public/cached/logo.png', 200, 'public, max-age=60'],
        ['GET', { range: 'bytes=0-99' }, 'public/cached/logo.png', 206, 'public, max-age=60'],
      ]
      for (const [method, headers, path, status, cacheControl] of checks) {
        const res = await rawGet(front, `/download/${path}`, headers, { method })
        t.equal(res.status, status, `${method} ${path}`)
        t.equal(res.headers['cache-control'], cacheControl, `${method} ${path}: ${cacheControl}`)
        if (path.endsWith('logo.png') && method === 'GET') {
          t.ok(res.body.equals(status === 206 ? logo.subarray(0, 100) : logo), 'its bytes')
        }
      }
      // Refusals are never stored anywhere either.
      const refusals: [Record<string, string>, string, string][] = [
        [{}, 'reports/q1.pdf', 'GET'],
        [{ cookie: bob }, 'reports/q1.pdf', 'GET'],
        [{ cookie: alice }, 'hidden/secret.txt', 'GET'],
        [{}, 'public/../reports/q1.pdf', 'GET'],
        [{}, 'public/hello.txt', 'DELETE'],
      ]
      for (const [headers, path, method] of refusals) {
        const res = await rawGet(
          front,
          `/download/${path}`,
          { ...headers, 'content-length': '0' },
          { method },
        )
        t.ok(res.status >= 400, `${method} ${path}: ${res.status}`)
        t.match(res.headers['cache-control'], /no-store/, `${method} ${path}: no-store`)
      }
    },
  )
}

function accelIn(r: Exchange | RawResponse): string[] {
  const headers = 'response' in r ? (r.response?.headers ?? {}) : r.headers
  return ACCEL.filter((h) => headers[h] !== undefined)
}
