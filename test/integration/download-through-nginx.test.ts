// The product end to end: real nginx rendered from nginx/templates, the real gateway in x-accel
// mode, real Redis sessions written by the built-in login. Every request goes over a socket.
import { createHmac } from 'node:crypto'
import { parse as parseDisposition } from 'content-disposition'
import t from 'tap'
import { TEST_SECRET } from '../harness/gateway.js'
import { rawGet } from '../harness/http.js'
import { downloadPath, HOSTILE_NAMES, type Scenario, startScenario } from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { nginx, files } = scenario
const alice = await scenario.login('alice')
const bob = await scenario.login('bob')

async function download(path: string, cookie?: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(`${nginx.baseUrl}${path}`, {
    method,
    headers: { ...(cookie ? { cookie } : {}), ...headers },
  })
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
}

t.test('download: an allowed file arrives byte for byte with its headers', async (t) => {
  const res = await download('/download/reports/q1.pdf', alice)
  t.equal(res.status, 200)
  t.ok(res.body.equals(files['reports/q1.pdf'] as Buffer), 'same bytes')
  t.equal(res.headers.get('content-type'), 'application/pdf')
  t.equal(res.headers.get('content-disposition'), `attachment; filename="q1.pdf"; filename*=UTF-8''q1.pdf`)
  t.equal(res.headers.get('cache-control'), 'private, no-store')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff', 'set by the internal location')
  t.match(res.headers.get('content-security-policy'), /sandbox/)
  t.equal(res.headers.get('x-accel-redirect'), null, 'nginx consumes the header')
})

t.test('download: a public file needs no session', async (t) => {
  const res = await download('/download/public/hello.txt')
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'hello, world\n')
})

t.test('download: a user with no matching rule is refused 403 and gets no byte', async (t) => {
  const res = await download('/download/reports/q1.pdf', bob)
  t.equal(res.status, 403)
  t.notOk(res.body.includes((files['reports/q1.pdf'] as Buffer).subarray(0, 64)))
  t.match(JSON.parse(res.body.toString()), { code: 'GW_ERR_DENIED' })
})

t.test('download: placeholders give each user their own folder only', async (t) => {
  t.equal((await download('/download/home/alice/own.txt', alice)).status, 200)
  t.equal((await download('/download/home/bob/own.txt', alice)).status, 403)
  t.equal((await download('/download/home/bob/own.txt', bob)).body.toString(), 'bob only\n')
})

t.test('download: without a session a protected file is 401', async (t) => {
  const res = await download('/download/reports/q1.pdf')
  t.equal(res.status, 401)
  t.match(JSON.parse(res.body.toString()), { code: 'GW_ERR_NO_SESSION' })
})

t.test('download: a tampered cookie is 401', async (t) => {
  const [name, value] = alice.split('=') as [string, string]
  const tampered = `${name}=${value.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}`
  const res = await download('/download/reports/q1.pdf', tampered)
  t.equal(res.status, 401)
  t.match(JSON.parse(res.body.toString()), { code: 'GW_ERR_BAD_COOKIE' })
})

t.test('download: a session whose cookie expiry has passed is 401', async (t) => {
  const sid = 'expired-session-0001'
  await scenario.gateway.store.set(
    sid,
    {
      cookie: { expires: new Date(Date.now() - 1000).toISOString() },
      user: { id: 'alice', groups: ['finance'] },
    },
    60,
  )
  const signature = createHmac('sha256', TEST_SECRET).update(sid).digest('base64').replace(/=+$/, '')
  const res = await download('/download/reports/q1.pdf', `sid=${encodeURIComponent(`${sid}.${signature}`)}`)
  t.equal(res.status, 401)
  t.match(JSON.parse(res.body.toString()), { code: 'GW_ERR_SESSION_EXPIRED' })
})

t.test('download: HEAD is answered like GET, without the body', async (t) => {
  const res = await download('/download/reports/q1.pdf', alice, {}, 'HEAD')
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-length'), '100000')
  t.equal(res.headers.get('content-type'), 'application/pdf')
  t.equal(res.body.length, 0)
})

t.test('download: a Range request is answered 206 with exactly those bytes', async (t) => {
  const res = await download('/download/reports/q1.pdf', alice, { range: 'bytes=1000-1999' })
  t.equal(res.status, 206)
  t.equal(res.headers.get('content-range'), 'bytes 1000-1999/100000')
  t.ok(res.body.equals((files['reports/q1.pdf'] as Buffer).subarray(1000, 2000)))
})

t.test('download: names with spaces, %, ?, #, +, quotes and Unicode arrive byte for byte', async (t) => {
  for (const name of HOSTILE_NAMES) {
    const res = await download(downloadPath(`names/${name}`), alice)
    t.equal(res.status, 200, name)
    t.ok(res.body.equals(files[`names/${name}`] as Buffer), `${name}: its own bytes`)
    t.equal(
      parseDisposition(res.headers.get('content-disposition') as string).parameters.filename,
      name,
      `${name}: disposition`,
    )
  }
})

t.test('download: NFC and NFD spellings of one name are different files on disk', async (t) => {
  const nfc = await download(downloadPath('names/caf\u00e9.txt'), alice)
  const nfd = await download(downloadPath('names/cafe\u0301.txt'), alice)
  t.equal(nfc.body.toString(), 'contents of caf\u00e9.txt\n')
  t.equal(nfd.body.toString(), 'contents of cafe\u0301.txt\n')
})

t.test('download: a rule can hide that a file exists (404)', async (t) => {
  const res = await download('/download/hidden/secret.txt', alice)
  t.equal(res.status, 404)
  t.match(JSON.parse(res.body.toString()), { code: 'GW_ERR_HIDDEN' })
})

t.test('download: a missing allowed file is nginx 404 without the internal prefix in sight', async (t) => {
  const res = await rawGet(nginx.port, '/download/public/nope.txt')
  t.equal(res.status, 404)
  t.notMatch(res.raw.toString('latin1'), /_protected/)
})

t.test('download: a rule limit_rate reaches nginx as X-Accel-Limit-Rate', async (t) => {
  const started = Date.now()
  const res = await download('/download/slow/big.bin', alice)
  t.equal(res.status, 200)
  t.equal(res.body.length, 3000)
  // 3000 bytes at 1 KiB/s cannot arrive in under a second if the limit applied.
  t.ok(Date.now() - started >= 1000, `took ${Date.now() - started} ms`)
})

t.test('download: the internal prefix cannot be requested directly', async (t) => {
  for (const path of [
    '/_protected/reports/q1.pdf',
    '/_protected/public/hello.txt',
    '/_protected../reports/q1.pdf',
    '/_protected%2e%2e/x',
  ]) {
    const res = await rawGet(nginx.port, path, { cookie: alice })
    t.equal(res.status, 404, path)
    t.notOk(res.body.includes('hello, world'), path)
  }
})

t.test('download: traversal through nginx is refused by the gateway', async (t) => {
  for (const path of [
    '/download/public/../reports/q1.pdf',
    '/download/public/%2e%2e/reports/q1.pdf',
    '/download/public%2f..%2freports/q1.pdf',
    '/download//reports/q1.pdf',
    '/download/public/..%5creports/q1.pdf',
    '/download/public/hello.txt%00.pdf',
  ]) {
    const res = await rawGet(nginx.port, path, { cookie: bob })
    t.equal(res.status, 400, path)
    t.equal(res.headers['x-accel-redirect'], undefined)
  }
})

t.test('download: methods other than GET and HEAD are 405 and never a file', async (t) => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await rawGet(nginx.port, '/download/public/hello.txt', { 'content-length': '0' }, { method })
    t.equal(res.status, 405, method)
    t.notOk(res.body.includes('hello, world'), method)
  }
})

t.test('download: refusals from the gateway never carry X-Accel-Redirect', async (t) => {
  const direct = scenario.gateway.port
  for (const [path, cookie] of [
    ['/download/reports/q1.pdf', bob],
    ['/download/reports/q1.pdf', ''],
    ['/download/hidden/secret.txt', alice],
    ['/download/a/../b', alice],
  ] as const) {
    const res = await rawGet(direct, path, cookie ? { cookie } : {})
    t.ok(res.status >= 400, `${path}: ${res.status}`)
    t.equal(res.headers['x-accel-redirect'], undefined, path)
  }
  const allowed = await rawGet(direct, '/download/reports/q1.pdf', { cookie: alice })
  t.equal(allowed.headers['x-accel-redirect'], '/_protected/reports/q1.pdf', 'the allowed 200 does carry it')
  t.equal(allowed.body.length, 0, 'and no body')
})

t.test('download: logout takes effect on the very next request', async (t) => {
  const carol = await scenario.login('alice')
  t.equal((await download('/download/reports/q1.pdf', carol)).status, 200)
  const out = await fetch(`${nginx.baseUrl}/logout`, { method: 'POST', headers: { cookie: carol } })
  t.equal(out.status, 204)
  t.equal((await download('/download/reports/q1.pdf', carol)).status, 401)
})

t.test('download: a session deleted in Redis is honoured on the next request', async (t) => {
  const dave = await scenario.login('alice')
  t.equal((await download('/download/reports/q1.pdf', dave)).status, 200)
  const sid = decodeURIComponent(dave.split('=')[1] as string).split('.')[0] as string
  await scenario.gateway.store.destroy(sid)
  t.equal((await download('/download/reports/q1.pdf', dave)).status, 401)
})

t.test('decision log: one JSON line per decision with a reason code, no secret', async (t) => {
  const before = scenario.gateway.logs().length
  await download('/download/reports/q1.pdf', bob)
  await download('/download/reports/q1.pdf', alice)
  const lines = scenario.gateway
    .logs()
    .slice(before)
    .filter((l) => l.msg === 'decision')
  t.equal(lines.length, 2)
  t.match(lines[0], { code: 'GW_ERR_DENIED', status: 403, user: 'bob', path: '/reports/q1.pdf' })
  t.match(lines[1], { code: 'GW_ALLOW', status: 200, user: 'alice', rule: /^reports@.*10-test\.yaml:\d+$/ })
  const text = scenario.gateway.logText()
  t.notOk(text.includes(TEST_SECRET), 'no session secret')
  for (const cookie of [alice, bob])
    t.notOk(text.includes((cookie.split('=')[1] as string).slice(0, 20)), 'no cookie value')
  t.notOk(text.includes('pw-alice'), 'no password')
})
