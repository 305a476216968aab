// One log line per decision. Handlers record what they decided on the request; the reply's final
// hook (accel-guard.ts), or the download route for the allowed x-accel 200 it writes itself, writes
// it together with the status sent and the time taken. The cookie, session id and any secret never
// appear: only the user id the session resolved to.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import pino from 'pino'
import type { DecisionRecord } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Writes a request's decision line; for replies sent outside Fastify's hooks. */
    writeDecision: DecisionWrite
  }
  interface FastifyRequest {
    decision: DecisionRecord | null
    /** performance.now() when a handler began deciding; 0 for refusals made before any handler. */
    decisionStart: number
  }
}

/**
 * Starts the clock of the line's `ms` field: route handlers call it first. Fastify runs without a
 * logger (app.ts), so it keeps no start time of its own; refusals answered before any handler
 * (unknown routes and methods, malformed URLs, unparseable bodies) have no `ms`.
 */
export function startDecision(request: FastifyRequest): void {
  request.decisionStart = performance.now()
}

export function recordDecision(request: FastifyRequest, record: DecisionRecord): void {
  request.decision = record
}

/**
 * Decorates requests with their decision, and the app with the function that writes the line to
 * `logger`. A plugin without encapsulation (fastify-plugin): the decorations must reach every route.
 */
export const decisionLog = fp<{ logger: pino.Logger; onDecision?: DecisionCount }>(
  async (app, { logger, onDecision }) => {
    app.decorateRequest('decision', null)
    app.decorateRequest('decisionStart', 0)
    const write = decisionWriter(logger)
    app.decorate('writeDecision', onDecision ? counted(write, onDecision, logger) : write)
  },
  { name: 'gateway-decision-log' },
)

export type DecisionWrite = (request: FastifyRequest, reply: FastifyReply) => void

/** Told every decision's code and rule label, as its line says them (the metrics count them). */
export type DecisionCount = (
  code: string,
  ruleLabel: string | null | undefined,
  credential?: 'link' | 'token',
) => void

/** The line, then the count; like the line, a failing count must not become a second answer. */
function counted(write: DecisionWrite, count: DecisionCount, log: pino.Logger): DecisionWrite {
  return (request, reply) => {
    write(request, reply)
    const d = request.decision
    try {
      count(d?.code ?? fallbackCode(reply.statusCode), d?.rule, d?.credential)
    } catch (err) {
      log.error({ reqId: request.id, err }, 'decision not counted')
    }
  }
}

/**
 * The decision line is written straight to the logger's destination, in pino's own format (level,
 * time, the logger's bindings, then our fields): this is the one line every request pays for, and
 * pino's general path (merging objects, then a redaction walk over every key for secret-bearing
 * paths) cost 5 to 9 us of it where building it here costs about 1. None of these fields can hold a
 * secret, so skipping redaction loses nothing. Should a pino version lay out those internals
 * differently, the fields go through its own info/error instead; test/unit/pino-internals.test.ts
 * fails on such a version, and on a logger option that changes pino's own line (mixin, formatters).
 */
export function decisionWriter(log: pino.Logger): DecisionWrite {
  const raw = log as unknown as Record<symbol, unknown>
  const stream = raw[pino.symbols.streamSym] as { write(line: string): unknown } | undefined
  const time = raw[pino.symbols.timeSym] as (() => string) | undefined
  const bindings = raw[pino.symbols.chindingsSym] as string | undefined
  const messageKey = (raw[pino.symbols.messageKeySym] as string | undefined) ?? 'msg'
  if (!stream || typeof stream.write !== 'function' || !time || typeof bindings !== 'string') {
    return neverThrows(log, (request, reply) => {
      const fields = decisionFields(request, reply)
      if (fields.status >= 500) log.error(fields, 'decision')
      else log.info(fields, 'decision')
    })
  }
  const tail = `,${JSON.stringify(messageKey)}:"decision"}\n`
  // pino's default clock, read once per millisecond rather than formatted on every line.
  const timeField = time === pino.stdTimeFunctions.epochTime ? epochTimeField : time
  return neverThrows(log, (request, reply) => {
    const status = reply.statusCode
    const level = status >= 500 ? 'error' : 'info'
    if (!log.isLevelEnabled(level)) return
    const d = request.decision
    let line = `{"level":${status >= 500 ? 50 : 30}${timeField()}${bindings},"reqId":${quote(request.id)},"method":${quoteKnown(request.method)},"status":${status},"code":${quoteKnown(d?.code ?? fallbackCode(status))}`
    if (d?.path !== undefined) line += `,"path":${quote(d.path)}`
    if (d?.user) line += `,"user":${quoteKnown(d.user)}`
    if (d?.rule) line += `,"rule":${quoteKnown(d.rule)}`
    if (d?.detail !== undefined) line += `,"detail":${quoteKnown(d.detail)}`
    if (request.decisionStart > 0) line += `,"ms":${msText(performance.now() - request.decisionStart)}`
    stream.write(line + tail)
  })
}

/** A request refused before Fastify made a request of it: Node's parser or its `Expect` check. */
export interface EarlyDecision {
  /** Absent when the request line has no readable method. */
  readonly method?: string
  /** The request target as received (early-refusals.ts says how it is written). */
  readonly target?: string
  readonly status: number
  readonly code: string
  readonly detail?: string
}

/**
 * The decision line of an early refusal, through pino's ordinary path (these are rare): the same
 * message and fields as any decision line, but no reqId (Fastify never gave it one), user or ms.
 */
export function writeEarlyDecision(log: pino.Logger, d: EarlyDecision): void {
  try {
    const fields = { method: d.method, target: d.target, status: d.status, code: d.code, detail: d.detail }
    if (d.status >= 500) log.error(fields, 'decision')
    else log.info(fields, 'decision')
  } catch {
    // The destination itself is failing: there is nowhere left to say so.
  }
}

/**
 * The line is written after the reply (the allowed 200 is already on its way): a failure here
 * must not turn into a second answer, nor vanish, since Fastify runs without a logger of its own.
 */
function neverThrows(log: pino.Logger, write: DecisionWrite): DecisionWrite {
  return (request, reply) => {
    try {
      write(request, reply)
    } catch (err) {
      try {
        log.error({ reqId: request.id, err }, 'decision line not written')
      } catch {
        // The destination itself is failing: there is nowhere left to say so.
      }
    }
  }
}

let lastEpochMs = 0
let lastEpochField = ''

/** Exactly what pino.stdTimeFunctions.epochTime writes, formatted once per millisecond. */
function epochTimeField(): string {
  const now = Date.now()
  if (now !== lastEpochMs) {
    lastEpochMs = now
    lastEpochField = `,"time":${now}`
  }
  return lastEpochField
}

// Methods, codes, rule labels, details and user ids come back line after line: each is quoted
// once. Bounded, so a flood of distinct user ids cannot grow it; past the bound, quote() as usual.
const quotedKnown = new Map<string, string>()
const QUOTED_KNOWN_MAX = 4096

function quoteKnown(s: string): string {
  let quoted = quotedKnown.get(s)
  if (quoted === undefined) {
    quoted = quote(s)
    if (quotedKnown.size < QUOTED_KNOWN_MAX) quotedKnown.set(s, quoted)
  }
  return quoted
}

/**
 * `elapsed` ms rounded to the microsecond, written as JSON.stringify(Math.round(elapsed * 1000) /
 * 1000) would write it, from integers: formatting a fractional double costs several times more.
 */
export function msText(elapsed: number): string {
  const us = Math.max(0, Math.round(elapsed * 1000))
  const whole = Math.floor(us / 1000)
  const frac = us - whole * 1000
  if (frac === 0) return `${whole}`
  if (frac % 100 === 0) return `${whole}.${frac / 100}`
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`
}

// Printable ASCII other than the double quote and the backslash: such a string is its own JSON
// body. Most fields are (codes, request ids, user ids, plain paths), and testing that is cheaper
// than JSON.stringify.
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** `s` as a JSON string literal, exactly as JSON.stringify writes it. */
export function quote(s: string): string {
  return s.length <= 256 && PLAIN_JSON.test(s) ? `"${s}"` : JSON.stringify(s)
}

function decisionFields(request: FastifyRequest, reply: FastifyReply) {
  const d = request.decision
  const status = reply.statusCode
  return {
    reqId: request.id,
    method: request.method,
    status,
    code: d?.code ?? fallbackCode(status),
    path: d?.path,
    user: d?.user ?? undefined,
    rule: d?.rule ?? undefined,
    detail: d?.detail,
    ms: request.decisionStart > 0 ? elapsedMs(request) : undefined,
  }
}

/** Milliseconds since the handler began, to the microsecond. */
function elapsedMs(request: FastifyRequest): number {
  return Number(msText(performance.now() - request.decisionStart))
}

function fallbackCode(status: number): string {
  return status < 400 ? 'GW_OK' : 'GW_ERR_UNCLASSIFIED'
}
