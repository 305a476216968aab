// Requests Node's HTTP parser refuses before any route, sent raw over sockets to the real gateway
// and through real nginx: each gets the gateway's JSON refusal with its own code and status, a
// decision line with that code, and the connection closed; the gateway goes on serving.

import { connect } from 'node:net'
import t from 'tap'
import { rawGet } from '../harness/http.js'
import { rawExchange } from '../harness/response-checks.js'
import { type Scenario, startScenario } from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { gateway, nginx } = scenario

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))))

/** The decision lines logged from index `from` on, waiting up to 2 s for at least one. */
async function decisionsAfter(from: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 2000
  for (;;) {
    const lines = gateway
      .logs()
      .slice(from)
      .filter((l) => l.msg === 'decision')
    if (lines.length > 0 || Date.now() > deadline) return lines
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Case {
  name: string
  request: Buffer
  status: number
  code: string
  method?: string
  target?: string
  detail: RegExp
}

const CASES: Case[] = [
  {
    name: 'raw UTF-8 bytes in the target',
    request: bytes('GET /download/caf', [0xc3, 0xa9], '.txt HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    method: 'GET',
    target: '/download/caf\\xC3\\xA9.txt',
    detail: /^HPE_INVALID_URL/,
  },
  {
    name: 'DEL in the target, with a query that stays out of the log',
    request: bytes('GET /download/a\x7fb?token=abc HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    method: 'GET',
    target: '/download/a\\x7Fb',
    detail: /^HPE_INVALID_URL/,
  },
  {
    name: 'a request line that is not one',
    request: bytes('garbage\r\n\r\n'),
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    detail: /^HPE_INVALID_METHOD/,
  },
  {
    name: 'an HTTP version nobody speaks',
    request: bytes('GET /download/public/hello.txt HTTP/9.9\r\nHost: x\r\n\r\n'),
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    method: 'GET',
    target: '/download/public/hello.txt',
    detail: /^HPE_INVALID_VERSION/,
  },
  {
    name: 'a header name with a space',
    request: bytes('GET /download/public/hello.txt HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'),
    status: 400,
    code: 'GW_ERR_BAD_HEADER',
    method: 'GET',
    target: '/download/public/hello.txt',
    detail: /^HPE_INVALID_HEADER_TOKEN/,
  },
  {
    name: 'Content-Length and Transfer-Encoding together (request smuggling)',
    request: bytes(
      'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ),
    status: 400,
    code: 'GW_ERR_BAD_HEADER',
    method: 'POST',
    target: '/login',
    detail: /^HPE_INVALID_TRANSFER_ENCODING/,
  },
  {
    name: 'a header over 16 KiB',
    request: bytes(
      `GET /download/public/hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ),
    status: 431,
    code: 'GW_ERR_HEADER_TOO_LARGE',
    method: 'GET',
    target: '/download/public/hello.txt',
    detail: /^HPE_HEADER_OVERFLOW/,
  },
  {
    name: 'a request line over 16 KiB',
    request: bytes(`GET /download/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    status: 431,
    code: 'GW_ERR_HEADER_TOO_LARGE',
    method: 'GET',
    detail: /^HPE_HEADER_OVERFLOW/,
  },
  {
    name: 'an Expect other than 100-continue',
    request: bytes('GET /download/public/hello.txt HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n'),
    status: 417,
    code: 'GW_ERR_EXPECTATION',
    method: 'GET',
    target: '/download/public/hello.txt',
    detail: /^bogus$/,
  },
]

for (const c of CASES) {
  t.test(`straight to the gateway: ${c.name}`, async (t) => {
    const from = gateway.logs().length
    const exchange = await rawExchange(gateway.port, c.request, 5000)
    t.equal(exchange.end, 'closed', 'the gateway closes the connection')
    const res = exchange.response
    if (!res) throw new Error(`no response: ${JSON.stringify(exchange.raw.toString('latin1'))}`)
    t.equal(res.status, c.status)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers['cache-control'], 'no-store')
    t.same(JSON.parse(res.body.toString()), {
      statusCode: c.status,
      code: c.code,
      message: JSON.parse(res.body.toString()).message,
    })
    t.type(JSON.parse(res.body.toString()).message, 'string')
    const lines = await decisionsAfter(from)
    t.equal(lines.length, 1, 'exactly one decision line')
    const line = lines[0] ?? {}
    t.match(line, { level: 30, status: c.status, code: c.code, msg: 'decision' })
    t.equal(line.method, c.method)
    if (c.target !== undefined) t.equal(line.target, c.target)
    else if (c.method !== undefined) t.ok(String(line.target).length <= 512, 'a long target is cut')
    t.match(String(line.detail), c.detail)
    t.notOk(JSON.stringify(line).includes('token=abc'), 'the query string is not logged')
  })
}

t.test('the gateway still serves after every refusal above', async (t) => {
  const res = await rawGet(gateway.port, '/download/public/hello.txt')
  t.equal(res.status, 200)
})

t.test('a header split over several packets: the line still has the code', async (t) => {
  const from = gateway.logs().length
  const socket = connect({ port: gateway.port, host: '127.0.0.1' })
  const received: Buffer[] = []
  socket.on('data', (c: Buffer) => received.push(c))
  socket.on('error', () => {}) // a write after the gateway closed: the close below is what counts
  const closed = new Promise((r) => socket.once('close', r))
  await new Promise<void>((r) => socket.once('connect', () => r()))
  socket.write('GET /download/public/hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: ')
  for (let i = 0; i < 20; i++) {
    if (socket.destroyed) break
    socket.write('a'.repeat(1000))
    await new Promise((r) => setTimeout(r, 5))
  }
  await closed
  t.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 431 /)
  const lines = await decisionsAfter(from)
  t.equal(lines.length, 1)
  t.match(lines[0], { status: 431, code: 'GW_ERR_HEADER_TOO_LARGE' })
})

t.test('through nginx: a raw non-ASCII target gets its decision line in the gateway log', async (t) => {
  const from = gateway.logs().length
  const exchange = await rawExchange(
    nginx.port,
    bytes('GET /download/caf', [0xc3, 0xa9], '.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    5000,
  )
  t.equal(exchange.response?.status, 400)
  t.match(JSON.parse(exchange.response?.body.toString() ?? '{}'), { code: 'GW_ERR_BAD_REQUEST_LINE' })
  const lines = await decisionsAfter(from)
  t.equal(lines.length, 1)
  t.match(lines[0], {
    method: 'GET',
    target: '/download/caf\\xC3\\xA9.txt',
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
  })
  // nginx's next request on its pool of connections to the gateway still works.
  const after = await rawGet(nginx.port, '/download/public/hello.txt')
  t.equal(after.status, 200)
})
