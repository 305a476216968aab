import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { writeEarlyDecision } from '../../src/http/decision-log.js'
import { MAX_LOGGED_TARGET, refusalForParserError, requestLineOf } from '../../src/http/early-refusals.js'

t.test('early refusals: each parser error code gets its own refusal', async (t) => {
  const seen = (code?: string) => {
    const e = refusalForParserError(code)
    return `${e.statusCode} ${e.code}`
  }
  t.equal(seen('HPE_INVALID_URL'), '400 GW_ERR_BAD_REQUEST_LINE')
  t.equal(seen('HPE_INVALID_METHOD'), '400 GW_ERR_BAD_REQUEST_LINE')
  t.equal(seen('HPE_INVALID_VERSION'), '400 GW_ERR_BAD_REQUEST_LINE')
  t.equal(seen('HPE_INVALID_HEADER_TOKEN'), '400 GW_ERR_BAD_HEADER')
  t.equal(seen('HPE_UNEXPECTED_CONTENT_LENGTH'), '400 GW_ERR_BAD_HEADER')
  t.equal(seen('HPE_HEADER_OVERFLOW'), '431 GW_ERR_HEADER_TOO_LARGE')
  t.equal(seen('ERR_HTTP_REQUEST_TIMEOUT'), '408 GW_ERR_REQUEST_TIMEOUT')
  t.equal(seen('HPE_CHUNK_EXTENSIONS_OVERFLOW'), '413 GW_ERR_BAD_REQUEST')
  t.equal(seen('HPE_INVALID_CHUNK_SIZE'), '400 GW_ERR_BAD_REQUEST')
  t.equal(seen(undefined), '400 GW_ERR_BAD_REQUEST')
  // Each call makes a new error: a status set on one never leaks into the next.
  t.equal(seen('HPE_INVALID_CHUNK_SIZE'), '400 GW_ERR_BAD_REQUEST')
})

t.test('early refusals: the request line is read only from the start of a request', async (t) => {
  t.same(requestLineOf(Buffer.from('GET /a%20b?secret=1 HTTP/1.1\r\n')), { method: 'GET', target: '/a%20b' })
  t.same(requestLineOf(Buffer.from([0x47, 0x45, 0x54, 0x20, 0x2f, 0xff, 0x7f, 0x00, 0x20])), {
    method: 'GET',
    target: '/\\xFF\\x7F\\x00',
  })
  t.same(requestLineOf(Buffer.from('GET /tab\there HTTP/1.1')), { method: 'GET', target: '/tab\\x09here' })
  t.same(requestLineOf(Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')), {}, 'a later chunk')
  t.same(requestLineOf(Buffer.from('X-Header: value\r\n')), {}, 'a header line')
  t.same(requestLineOf(undefined), {})
  t.same(requestLineOf({ type: 'Buffer', data: [71] }), {}, 'only a real Buffer is read')
  const long = requestLineOf(Buffer.from(`GET /${'a'.repeat(5000)} HTTP/1.1`))
  t.equal(long.target?.length, MAX_LOGGED_TARGET)
})

t.test('early refusals: the line has the fields of a decision line, without reqId', async (t) => {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  const log = pino({ base: { service: 'download-gateway' } }, sink)
  writeEarlyDecision(log, {
    method: 'GET',
    target: '/x',
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    detail: 'd',
  })
  writeEarlyDecision(log, { status: 431, code: 'GW_ERR_HEADER_TOO_LARGE' })
  await new Promise((r) => setImmediate(r))
  const [first, second] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.match(first, {
    level: 30,
    service: 'download-gateway',
    method: 'GET',
    target: '/x',
    status: 400,
    code: 'GW_ERR_BAD_REQUEST_LINE',
    detail: 'd',
    msg: 'decision',
  })
  t.notOk('reqId' in first)
  t.same(Object.keys(second).sort(), ['code', 'level', 'msg', 'service', 'status', 'time'].sort())
})
