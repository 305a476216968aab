import { Writable } from 'node:stream'
import fc from 'fast-check'
import type { FastifyReply, FastifyRequest } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { decisionWriter, msText, quote } from '../../src/http/decision-log.js'

function capture(level = 'info') {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  const log = pino({ level, base: { service: 'download-gateway' } }, sink)
  return {
    log,
    lines: () =>
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  }
}

/** A request whose handler began `agoMs` ago (0: none began, as for a route-less refusal). */
const request = (decision: object | null, agoMs = 1.23456) =>
  ({
    id: 'req-7',
    method: 'GET',
    decision,
    decisionStart: agoMs > 0 ? performance.now() - agoMs : 0,
  }) as unknown as FastifyRequest
const reply = (statusCode: number) => ({ statusCode }) as unknown as FastifyReply

t.test('decision log: the hand-built line is exactly what pino would write', async (t) => {
  const { log, lines } = capture()
  const decision = {
    code: 'GW_ALLOW',
    path: '/a "quoted"\n\u2028 é.pdf',
    user: 'al\\ice',
    rule: 'r@f.yaml:3',
    detail: 'GW_ALLOW_RULE',
  }
  decisionWriter(log)(request(decision), reply(200))
  await new Promise((r) => setImmediate(r))
  const [ours] = lines()
  t.ok(ours.ms >= 1.235 && ours.ms < 60_000, 'ms counts from when the handler began')
  log.info({ reqId: 'req-7', method: 'GET', status: 200, ...decision, ms: ours.ms }, 'decision')
  await new Promise((r) => setImmediate(r))
  const [, pinos] = lines()
  t.equal(typeof ours.time, 'number')
  delete ours.time
  delete pinos.time
  t.same(ours, pinos)
  t.equal(JSON.stringify(ours), JSON.stringify(pinos), 'same field order')
})

t.test('decision log: 5xx lines are errors, absent fields are left out', async (t) => {
  const { log, lines } = capture()
  decisionWriter(log)(request({ code: 'GW_ERR_STORE_UNAVAILABLE' }), reply(503))
  decisionWriter(log)(request(null, 0), reply(404))
  await new Promise((r) => setImmediate(r))
  const [a, b] = lines()
  t.match(a, { level: 50, status: 503, code: 'GW_ERR_STORE_UNAVAILABLE', msg: 'decision' })
  t.notOk('path' in a || 'user' in a || 'rule' in a)
  t.match(b, { level: 30, status: 404, code: 'GW_ERR_UNCLASSIFIED' })
  t.notOk('ms' in b, 'no handler began: no time to report')
  t.type(a.ms, 'number')
})

t.test('decision log: nothing is written below the logger level', async (t) => {
  const { log, lines } = capture('warn')
  decisionWriter(log)(request({ code: 'GW_ALLOW' }), reply(200))
  decisionWriter(log)(request({ code: 'GW_ERR_INTERNAL' }), reply(500))
  await new Promise((r) => setImmediate(r))
  t.same(
    lines().map((l) => l.status),
    [500],
  )
})

t.test('decision log: a logger that is not pino gets the fields through its own methods', async (t) => {
  const seen: unknown[] = []
  const fake = { info: (o: unknown) => seen.push(o), error: (o: unknown) => seen.push(o) }
  decisionWriter(fake as never)(request({ code: 'GW_DENIED', user: 'bob' }), reply(403))
  t.match(seen, [{ code: 'GW_DENIED', user: 'bob', status: 403 }])
})

t.test('decision log: quote writes what JSON.stringify writes, for any string', async (t) => {
  const samples = [
    '',
    'GW_ALLOW',
    '/a b/c.pdf',
    'a"b',
    'a\\b',
    '\u0000\u001f\u007f',
    'é',
    '\ud800',
    'x'.repeat(300),
  ]
  for (const s of samples) t.equal(quote(s), JSON.stringify(s), JSON.stringify(s))
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' })),
      (s) => {
        return quote(s) === JSON.stringify(s)
      },
    ),
    { numRuns: 2000 },
  )
})

t.test('decision log: ms is written as JSON.stringify writes the rounded number', async (t) => {
  const samples = [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.12, 1, 1.5, 1.05, 1.005, 1.0004, 12.3456, 999.9999]
  for (const ms of samples) t.equal(msText(ms), JSON.stringify(Math.round(ms * 1000) / 1000), String(ms))
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), (ms) => {
      return msText(ms) === JSON.stringify(Math.round(ms * 1000) / 1000)
    }),
    { numRuns: 5000 },
  )
})

t.test('decision log: a failing write is logged, never thrown at the reply', async (t) => {
  let out = ''
  let failures = 1
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  const log = pino({ level: 'info' }, sink)
  const stream = (log as unknown as Record<symbol, { write(s: string): unknown }>)[
    pino.symbols.streamSym
  ] as { write(s: string): unknown }
  const write = stream.write.bind(stream)
  stream.write = (s: string) => {
    if (failures-- > 0) throw new Error('disk full')
    return write(s)
  }
  t.doesNotThrow(() => decisionWriter(log)(request({ code: 'GW_ALLOW' }), reply(200)))
  await new Promise((r) => setImmediate(r))
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.match(lines, [
    { level: 50, msg: 'decision line not written', reqId: 'req-7', err: { message: 'disk full' } },
  ])
  failures = 2
  t.doesNotThrow(
    () => decisionWriter(log)(request({ code: 'GW_ALLOW' }), reply(200)),
    'nor when the error line fails too',
  )
})
