// Smoke tests of the nginx download config and of the test harness, through real sockets: a tiny
// stand-in gateway answers like the real one (X-Accel-Redirect), nginx serves the files.
import { randomBytes } from 'node:crypto'
import { symlink } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { makeFileTree } from '../harness/files.js'
import { get, parseResponse, type RawResponse, rawGet, rawRequest } from '../harness/http.js'
import { renderTemplate, startNginx } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { ping, startRedis } from '../harness/redis.js'

const SECRET = 'TOP-SECRET-0123456789'
const SIBLING = 'SIBLING-OF-THE-FILES-ROOT'
const OUTSIDE = 'OUTSIDE-THE-FILES-ROOT'
const INDEX = 'INDEX-PAGE-MUST-NOT-LEAK'
const NESTED = randomBytes(200 * 1024)
const CSP = "default-src 'none'; sandbox"
const STAND_IN_TYPE = 'application/x-stand-in'

// <root>/files is the files root; <root>/x sits next to it, where an off-by-slash alias would
// read (`/_protected../x` -> <root>/files/../x), and <root>/outside.txt is a symlink's target.
const tree = await makeFileTree({
  'files/secret.txt': SECRET,
  'files/sub/nested.bin': NESTED,
  'files/dir/index.html': INDEX,
  x: SIBLING,
  'outside.txt': OUTSIDE,
})
t.teardown(() => tree.cleanup())
const filesRoot = join(tree.root, 'files')
await symlink(join(tree.root, 'outside.txt'), join(filesRoot, 'link.txt'))

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}
const seen: Seen[] = []
let upstreamConnections = 0

// Grants a fixed set of names the way the gateway does; `/download/accel?to=V` plays a gateway
// that emits V verbatim, to show what nginx does with a bad value.
const GRANTED = new Set(['secret.txt', 'sub/nested.bin', 'dir', 'link.txt'])
const standIn = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const url = req.url ?? ''
    const body = Buffer.concat(chunks)
    seen.push({ method: req.method ?? '', url, headers: req.headers, body })
    const name = url.startsWith('/download/') ? url.slice('/download/'.length) : undefined
    if (url.startsWith('/download/accel?to=')) {
      const to = new URL(url, 'http://x').searchParams.get('to') ?? ''
      res
        .writeHead(200, { 'X-Accel-Redirect': to, 'Content-Type': STAND_IN_TYPE, 'Content-Length': '0' })
        .end()
    } else if (name === 'deny') {
      res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"error":"stand-in says no"}')
    } else if (name !== undefined && GRANTED.has(name)) {
      res
        .writeHead(200, {
          'X-Accel-Redirect': `/_protected/${name.split('/').map(encodeURIComponent).join('/')}`,
          'Content-Type': STAND_IN_TYPE,
          // Under the gateway's names: the internal location turns them back into
          // Content-Disposition and Cache-Control on success only.
          'X-Download-Disposition': `attachment; filename="${name.split('/').pop()}"`,
          'X-Download-Cache-Control': 'private, no-store',
          ETag: '"from-the-stand-in"',
          // As Fastify sends it. nginx keeps the upstream connection after an X-Accel-Redirect
          // only when the reply says Content-Length: 0; node:http would otherwise chunk the
          // empty body and every download would open a new connection to the gateway.
          'Content-Length': '0',
        })
        .end()
    } else if (url === '/healthz') {
      // A confused gateway: the header must be ignored outside /download/.
      res
        .writeHead(200, { 'X-Accel-Redirect': '/_protected/secret.txt', 'Content-Type': 'text/plain' })
        .end('ok')
    } else if (url === '/login') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`login got ${body.length} bytes`)
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('stand-in: not granted')
    }
  })
})
standIn.on('connection', () => upstreamConnections++)
const gatewayPort = await freePort()
await new Promise<void>((resolve) => standIn.listen(gatewayPort, '127.0.0.1', resolve))
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      standIn.close(() => resolve())
      // nginx keeps idle keepalive connections to its upstream; drop them so close() can finish.
      standIn.closeAllConnections()
    }),
)

const nginx = await startNginx({ gatewayPort, filesRoot })
t.teardown(() => nginx.stop())

const fetchRaw = (path: string, headers: Record<string, string> = {}) => rawGet(nginx.port, path, headers)

// Requests are told apart at the stand-in by a cookie: of the client's own headers, nginx forwards
// only Cookie to the gateway's locations.
const TAG_COOKIE = 'test-tag='

/** The header that tags a request for seenWithTag. */
function tagged(tag: string): Record<string, string> {
  return { Cookie: `${TAG_COOKIE}${encodeURIComponent(tag)}` }
}

/** The stand-in's record of the request that carried tagged(tag). */
function seenWithTag(tag: string): Seen | undefined {
  return seen.find((s) => s.headers.cookie === `${TAG_COOKIE}${encodeURIComponent(tag)}`)
}

function header(res: RawResponse, name: string): string | undefined {
  const value = res.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

t.test(
  'download serves the granted file byte for byte with the gateway headers and nginx hardening',
  async (t) => {
    const res = await fetchRaw('/download/secret.txt')
    t.equal(res.status, 200)
    t.equal(res.body.toString(), SECRET)
    t.equal(header(res, 'content-type'), STAND_IN_TYPE, "the gateway's Content-Type beats mime.types")
    t.equal(header(res, 'content-disposition'), 'attachment; filename="secret.txt"')
    t.equal(header(res, 'cache-control'), 'private, no-store')
    t.equal(header(res, 'x-download-disposition'), undefined, 'the carrier headers stay behind')
    t.equal(header(res, 'x-download-cache-control'), undefined)
    t.equal(header(res, 'x-content-type-options'), 'nosniff')
    t.equal(header(res, 'content-security-policy'), CSP)
    t.equal(header(res, 'referrer-policy'), 'no-referrer')
    t.equal(header(res, 'x-accel-redirect'), undefined, 'the internal path never reaches the client')
    t.equal(header(res, 'server'), 'nginx', 'server_tokens off')

    const big = await fetchRaw('/download/sub/nested.bin')
    t.equal(big.status, 200)
    t.ok(big.body.equals(NESTED), 'binary file of 200 KiB identical')
  },
)

t.test('download answers a Range request with 206 and exactly those bytes', async (t) => {
  const res = await fetchRaw('/download/secret.txt', { Range: 'bytes=2-5' })
  t.equal(res.status, 206)
  t.equal(res.body.toString(), SECRET.slice(2, 6))
  t.equal(header(res, 'content-range'), `bytes 2-5/${SECRET.length}`)
})

t.test('internal location refuses a direct request with 404 and no bytes', async (t) => {
  for (const path of ['/_protected/secret.txt', '/_protected/sub/nested.bin', '/_protected/']) {
    const res = await fetchRaw(path)
    t.equal(res.status, 404, path)
    t.notOk(res.body.includes(SECRET), `${path} has no file bytes`)
  }
})

t.test('internal prefix look-alikes never read next to the files root', async (t) => {
  for (const path of ['/_protected../x', '/_protected%2e%2e/x', '/_protected/../x', '/_protected/%2e%2e/x']) {
    const direct = await fetchRaw(path)
    t.equal(direct.status, 404, `direct ${path}`)
    t.notOk(direct.body.includes(SIBLING), `direct ${path} has no bytes`)

    const viaGateway = await fetchRaw(`/download/accel?to=${encodeURIComponent(path)}`)
    t.not(viaGateway.status, 200, `X-Accel-Redirect ${path}`)
    t.notOk(viaGateway.body.includes(SIBLING), `X-Accel-Redirect ${path} has no bytes`)
  }
})

t.test('a directory through X-Accel-Redirect is 404 without a Location that names the prefix', async (t) => {
  for (const to of ['/_protected/dir', '/_protected/dir/', '/_protected/sub', '/_protected/']) {
    const res = await fetchRaw(`/download/accel?to=${encodeURIComponent(to)}`)
    t.equal(res.status, 404, to)
    t.notOk(String(header(res, 'location') ?? '').includes('_protected'), `${to}: no internal Location`)
    t.notOk(res.body.includes(INDEX), `${to}: index.html not served`)
    t.notOk(res.body.includes('Index of'), `${to}: no listing`)
  }
  const granted = await fetchRaw('/download/dir')
  t.equal(granted.status, 404)
  t.equal(header(granted, 'location'), undefined)
  t.equal(header(granted, 'content-disposition'), undefined, 'no download headers on the 404')
  t.equal(header(granted, 'cache-control'), undefined)
})

t.test('a symlink out of the files root is refused, not followed', async (t) => {
  const res = await fetchRaw('/download/link.txt')
  t.ok(res.status === 403 || res.status === 404, `status ${res.status}`)
  t.notOk(res.body.includes(OUTSIDE), 'the target is not served')
})

t.test('every other path is 404 and never reaches the gateway', async (t) => {
  for (const path of [
    '/',
    '/foo',
    '/download',
    '/downloads/secret.txt',
    '/download/../_protected/secret.txt',
  ]) {
    const tag = `other ${path}`
    const res = await fetchRaw(path, tagged(tag))
    t.equal(res.status, 404, path)
    t.notOk(res.body.includes(SECRET), `${path} has no file bytes`)
    t.equal(seenWithTag(tag), undefined, `${path} not proxied`)
  }
})

t.test("the gateway's refusal reaches the client as the gateway wrote it", async (t) => {
  const res = await fetchRaw('/download/deny')
  t.equal(res.status, 403)
  t.equal(res.body.toString(), '{"error":"stand-in says no"}')
})

t.test('the gateway receives the raw request URI and the proxy headers', async (t) => {
  for (const path of ['/download/a/../b', '/download/a/%2e%2e/b', '/download//double', '/download/a%2Fb']) {
    const tag = `raw ${path}`
    await fetchRaw(path, { ...tagged(tag), 'X-Forwarded-For': '203.0.113.9' })
    const req = seenWithTag(tag)
    t.equal(req?.url, path, `${path} arrives as sent`)
    t.equal(req?.headers.host, 'localhost')
    t.equal(req?.headers['x-forwarded-for'], '127.0.0.1', "the client's own X-Forwarded-For is replaced")
    t.equal(req?.headers['x-forwarded-proto'], 'http')
    t.match(req?.headers['x-request-id'], /^[0-9a-f]{32}$/)
  }
})

t.test("of the client's own headers, only the cookie and Authorization reach the gateway", async (t) => {
  const res = await rawRequest(
    nginx.port,
    'GET /download/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n' +
      'User-Agent: Mozilla/5.0\r\nAccept-Language: en\r\nReferer: https://example.com/\r\n' +
      'X-Custom: 1\r\nAuthorization: Basic dTpw\r\nRange: bytes=0-3\r\nIf-None-Match: "x"\r\n' +
      'Cookie: test-tag=only-cookie\r\nCookie: sid=abc\r\n\r\n',
  )
  // Range and the conditional headers are nginx's to answer, from the original request.
  t.equal(res.status, 206, 'the range is still served')
  t.equal(res.body.toString(), SECRET.slice(0, 4))
  const req = seen.find((s) => s.headers.cookie?.startsWith(`${TAG_COOKIE}only-cookie`))
  t.ok(req, 'the request reached the gateway')
  t.equal(req?.headers.cookie, `${TAG_COOKIE}only-cookie; sid=abc`, 'every Cookie header, joined')
  // Access tokens for scripts: any scheme is passed on, the gateway reads Bearer only.
  t.equal(req?.headers.authorization, 'Basic dTpw', 'Authorization is forwarded as sent')
  for (const name of ['user-agent', 'accept-language', 'referer', 'x-custom', 'range', 'if-none-match']) {
    t.equal(req?.headers[name], undefined, `${name} is not forwarded`)
  }
  const names = Object.keys(req?.headers ?? {}).sort()
  t.same(
    names,
    ['authorization', 'cookie', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id'],
    'nothing else arrives',
  )
})

t.test('a request body sent to /download/ is not forwarded', async (t) => {
  const body = 'field=value&more=data'
  const sized = await rawGet(
    nginx.port,
    '/download/secret.txt',
    { ...tagged('body sized'), 'Content-Length': String(body.length) },
    { method: 'POST', body },
  )
  t.equal(sized.status, 200, 'the download still works')
  const chunked = await rawGet(
    nginx.port,
    '/download/secret.txt',
    { ...tagged('body chunked'), 'Transfer-Encoding': 'chunked' },
    { method: 'POST', body: `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` },
  )
  t.equal(chunked.status, 200)
  for (const tag of ['body sized', 'body chunked']) {
    const req = seenWithTag(tag)
    t.equal(req?.method, 'POST', tag)
    t.equal(req?.body.length, 0, `${tag}: gateway saw no body`)
    t.ok(
      req?.headers['content-length'] === undefined || req?.headers['content-length'] === '0',
      `${tag}: no length`,
    )
    t.equal(req?.headers['transfer-encoding'], undefined, `${tag}: not chunked`)
  }
})

t.test('/login forwards its body to the gateway', async (t) => {
  const body = 'user=alice&password=secret'
  const res = await rawGet(
    nginx.port,
    '/login',
    { 'Content-Length': String(body.length) },
    { method: 'POST', body },
  )
  t.equal(res.status, 200)
  t.equal(res.body.toString(), `login got ${body.length} bytes`)
})

t.test('X-Accel-Redirect is ignored outside /download/', async (t) => {
  const res = await fetchRaw('/healthz')
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'ok')
  t.equal(header(res, 'x-accel-redirect'), undefined)
})

t.test('upstream connections to the gateway are kept alive', async (t) => {
  const before = upstreamConnections
  for (let i = 0; i < 5; i++) await fetchRaw('/download/secret.txt')
  t.ok(upstreamConnections - before <= 1, `${upstreamConnections - before} new connections for 5 requests`)
})

t.test('harness: get() reaches nginx through node:http', async (t) => {
  const res = await get(`${nginx.baseUrl}/download/secret.txt`)
  t.equal(res.status, 200)
  t.equal(res.body.toString(), SECRET)
})

t.test('harness: reload() re-renders the template and keeps serving', async (t) => {
  await nginx.reload()
  t.match(nginx.errorLog(), /reconfiguring/)
  const res = await fetchRaw('/download/secret.txt')
  t.equal(res.body.toString(), SECRET)
})

t.test('harness: renderTemplate refuses an unfilled placeholder', async (t) => {
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: envsubst placeholders, not JS interpolation
  t.equal(renderTemplate('listen ${A}; root $document_root;', { A: '80' }), 'listen 80; root $document_root;')
  t.throws(() => renderTemplate('listen ${A}; alias ${B}/;', { A: '80' }), /\$\{B\}/)
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: envsubst placeholders
})

t.test('harness: startNginx rejects with the error log when nginx refuses the config', async (t) => {
  // A space in the prefix splits the location line: nginx exits with [emerg] during start.
  await t.rejects(
    startNginx({ gatewayPort, filesRoot, internalPrefix: 'bad prefix' }),
    /exited during start[\s\S]*emerg/,
  )
})

t.test('harness: parseResponse handles chunked, sized, close-delimited and 100 Continue', async (t) => {
  const chunked = Buffer.from(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
  )
  t.equal(parseResponse(chunked, false, false)?.body.toString(), 'abcde')
  t.equal(parseResponse(chunked.subarray(0, chunked.length - 2), false, false), undefined, 'incomplete')
  const sized = Buffer.from(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nA: 1\r\nA: 2\r\n\r\nok',
  )
  const parsed = parseResponse(sized, false, false)
  t.equal(parsed?.status, 201)
  t.same(parsed?.headers.a, ['1', '2'])
  const closeDelimited = Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil close')
  t.equal(parseResponse(closeDelimited, false, false), undefined, 'waits for the close')
  t.equal(parseResponse(closeDelimited, false, true)?.body.toString(), 'until close')
})

t.test('harness: rawRequest sends the bytes unchanged and times out on silence', async (t) => {
  const res = await rawRequest(
    nginx.port,
    'GET /download/a/../b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: test-tag=verbatim\r\n\r\n',
  )
  t.equal(res.status, 404)
  t.equal(seenWithTag('verbatim')?.url, '/download/a/../b')
  await t.rejects(rawRequest(nginx.port, 'GET / HTTP/1.1\r\n', { timeoutMs: 200 }), /no complete response/)
})

t.test('harness: startRedis answers PING, pauses, resumes and stops by PID', async (t) => {
  const redis = await startRedis({ requirePass: 'p@ss' })
  t.teardown(() => redis.stop())
  t.match(redis.url, /^redis:\/\/:p%40ss@127\.0\.0\.1:\d+$/)
  t.ok(await ping(redis.port), 'answers')
  redis.pause()
  t.notOk(await ping(redis.port, 300), 'a paused server does not answer')
  redis.resume()
  t.ok(await ping(redis.port), 'answers again')
  await redis.stop()
  t.throws(() => process.kill(redis.pid, 0), 'process is gone')
  t.notOk(await ping(redis.port, 300), 'port closed')
})
