// The guard on what decision-log.ts reads of pino's internals. The decision line is built by hand
// and written straight to the logger's destination (decisionWriter), from four properties pino
// keeps under its own symbols. Should a pino release rename, move or reshape any of them, the writer
// falls back to log.info quietly (a slower line) or, worse, writes a line that differs from pino's.
// Each test here fails on such a change, so an upgrade that breaks the bypass is seen at once.
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import pino from 'pino'
import t, { type Test } from 'tap'
import { decisionWriter } from '../../src/http/decision-log.js'
import { createLogger, flushLogger } from '../../src/logger.js'

/** The symbols decisionWriter reads, by the name pino exports them under and their description. */
const READ = {
  streamSym: 'pino.stream',
  timeSym: 'pino.time',
  chindingsSym: 'pino.chindings',
  messageKeySym: 'pino.messageKey',
} as const

const request = (decision: object | null) =>
  ({
    id: 'req-1',
    method: 'GET',
    decision,
    decisionStart: performance.now() - 2,
  }) as unknown as FastifyRequest
const reply = (statusCode: number) => ({ statusCode }) as unknown as FastifyReply

/** A destination that records every write pino makes, as pino hands it over. */
function recordingDestination() {
  const writes: unknown[] = []
  return { writes, dest: { write: (chunk: unknown) => writes.push(chunk) } }
}

/** The production logger (logger.ts) writing into a file of its own; `read` flushes and reads it. */
async function productionLogger(t: Test, level = 'info') {
  const dir = await mkdtemp(join(tmpdir(), 'pino-guard-'))
  const file = join(dir, 'log')
  const fd = openSync(file, 'w')
  const log = createLogger(level, { fd })
  t.teardown(async () => {
    closeSync(fd)
    await rm(dir, { recursive: true, force: true })
  })
  return {
    log,
    read: async () => {
      await flushLogger(log)
      return readFileSync(file, 'utf8')
    },
  }
}

t.test('pino guard: the symbols decision-log.ts reads are exported, as the same symbols', async (t) => {
  const symbols = pino.symbols as unknown as Record<string, unknown>
  for (const [name, description] of Object.entries(READ)) {
    const sym = symbols[name]
    t.equal(typeof sym, 'symbol', `pino.symbols.${name} is a symbol`)
    t.equal((sym as symbol).description, description, `pino.symbols.${name} is ${description}`)
  }
  t.equal(typeof pino.stdTimeFunctions.epochTime, 'function')
  t.same([pino.levels.values.info, pino.levels.values.error], [30, 50], 'the level numbers the line writes')
})

t.test('pino guard: a logger keeps its destination, clock, bindings and message key there', async (t) => {
  const { dest } = recordingDestination()
  const log = pino({ base: { service: 'download-gateway' } }, dest)
  const raw = log as unknown as Record<symbol, unknown>
  t.equal(raw[pino.symbols.streamSym], dest, 'the destination itself, not a wrapper')
  t.equal(raw[pino.symbols.timeSym], pino.stdTimeFunctions.epochTime, 'the default clock is epochTime')
  t.match((raw[pino.symbols.timeSym] as () => string)(), /^,"time":\d{13}$/, 'which writes ,"time":<ms>')
  t.equal(
    raw[pino.symbols.chindingsSym],
    ',"service":"download-gateway"',
    'the bindings (base replaces pid and hostname) as a JSON fragment with a leading comma',
  )
  t.equal(raw[pino.symbols.messageKeySym], 'msg')
})

t.test('pino guard: pino writes each line as one string, at once, through write()', async (t) => {
  const { writes, dest } = recordingDestination()
  const log = pino({}, dest)
  log.info({ a: 1 }, 'first')
  t.equal(writes.length, 1, 'written before info() returns, in one call')
  t.type(writes[0], 'string')
  t.match(writes[0] as string, /^\{"level":30,"time":\d+,"pid":\d+,"hostname":".*","a":1,"msg":"first"\}\n$/)
  // The hand-built line goes through the same write(), so lines stay in the order they were made.
  decisionWriter(log)(request({ code: 'GW_ALLOW' }), reply(200))
  log.info('last')
  t.same(
    writes.map((w) => JSON.parse(w as string).msg),
    ['first', 'decision', 'last'],
  )
})

t.test('pino guard: on the production logger the writer takes the fast path', async (t) => {
  const { log, read } = await productionLogger(t)
  const raw = log as unknown as Record<symbol, Record<symbol, unknown>>
  // A destination that wants per-line metadata (pino.multistream) would route the hand-built
  // line by the level of the line before it.
  t.not(raw[pino.symbols.streamSym]?.[pino.symbols.needsMetadataGsym], true, 'no per-line metadata wanted')
  const fallbacks: string[] = []
  log.info = ((..._args: unknown[]) => fallbacks.push('info')) as typeof log.info
  log.error = ((..._args: unknown[]) => fallbacks.push('error')) as typeof log.error
  const write = decisionWriter(log)
  write(request({ code: 'GW_ALLOW' }), reply(200))
  write(request({ code: 'GW_ERR_INTERNAL' }), reply(500))
  t.same(fallbacks, [], "neither pino's info nor error was called")
  t.same(
    (await read())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).code),
    ['GW_ALLOW', 'GW_ERR_INTERNAL'],
  )
})

t.test(
  "pino guard: the production logger's own line and the hand-built one are the same bytes",
  async (t) => {
    const { log, read } = await productionLogger(t)
    const write = decisionWriter(log)
    const decision = {
      code: 'GW_ALLOW',
      path: '/a "b"/é.pdf',
      user: 'alice',
      rule: 'r@f.yaml:3',
      detail: 'x',
    }
    const req = request(decision)
    write(req, reply(200))
    write(request({ code: 'GW_ERR_STORE_UNAVAILABLE' }), reply(503))
    const [ours200, ours503] = (await read()).trim().split('\n') as [string, string]
    const ms = (line: string) => JSON.parse(line).ms as number
    log.info({ reqId: 'req-1', method: 'GET', status: 200, ...decision, ms: ms(ours200) }, 'decision')
    log.error(
      { reqId: 'req-1', method: 'GET', status: 503, code: 'GW_ERR_STORE_UNAVAILABLE', ms: ms(ours503) },
      'decision',
    )
    const lines = (await read()).trim().split('\n')
    const untimed = (line: string | undefined) => line?.replace(/"time":\d+/, '"time":0')
    t.equal(untimed(ours200), untimed(lines[2]), 'info line, byte for byte but for the clock')
    t.equal(untimed(ours503), untimed(lines[3]), 'error line, byte for byte but for the clock')
  },
)

t.test('pino guard: level gating is read from pino, per line', async (t) => {
  const { log, read } = await productionLogger(t, 'warn')
  t.equal(log.isLevelEnabled('info'), false)
  t.equal(log.isLevelEnabled('error'), true)
  const write = decisionWriter(log)
  write(request({ code: 'GW_ALLOW' }), reply(200))
  write(request({ code: 'GW_ERR_INTERNAL' }), reply(500))
  t.match(await read(), /^\{"level":50,[^\n]*"code":"GW_ERR_INTERNAL"[^\n]*\}\n$/)
})
