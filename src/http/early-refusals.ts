// Requests Node refuses before Fastify sees them: its HTTP parser (a raw non-ASCII byte, DEL or a
// space in the request target, a bad method or HTTP version, a malformed or oversized header, a
// broken body framing, a request not received in time) and its check of `Expect`. Left alone, Node
// or Fastify answer these with a bare or generic 400 and nothing is logged; here each gets the
// gateway's own JSON refusal and a decision line.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type pino from 'pino'
import {
  type GatewayError,
  GW_ERR_BAD_HEADER,
  GW_ERR_BAD_REQUEST,
  GW_ERR_BAD_REQUEST_LINE,
  GW_ERR_EXPECTATION,
  GW_ERR_HEADER_TOO_LARGE,
  GW_ERR_REQUEST_TIMEOUT,
} from '../errors.js'
import { type EarlyDecision, writeEarlyDecision } from './decision-log.js'
import { REFUSAL_HEADERS, refusalBody } from './refuse.js'

/**
 * What Node's 'clientError' carries: llhttp's code and reason, and the bytes it was parsing (a
 * Buffer, although Fastify's types describe its JSON form).
 */
export interface ParserError extends Error {
  code?: string
  reason?: string
  rawPacket?: unknown
}

// llhttp error codes by the part of the request they are about. Checked on Node 20 and 24: a raw
// byte over 0x7f, DEL, NUL, a tab or a space in the target is HPE_INVALID_URL; `garbage` or a
// lower-case method HPE_INVALID_METHOD; `HTTP/9.9` or a bare LF after the version
// HPE_INVALID_VERSION; `PRI * HTTP/2.0` HPE_PAUSED_H2_UPGRADE; a space before a header's colon,
// obs-fold, both Content-Length and Transfer-Encoding, or two Content-Lengths are header errors.
const REQUEST_LINE_CODES = new Set([
  'HPE_INVALID_METHOD',
  'HPE_INVALID_URL',
  'HPE_INVALID_VERSION',
  'HPE_INVALID_CONSTANT',
  'HPE_PAUSED_H2_UPGRADE',
])
const HEADER_CODES = new Set([
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
  'HPE_CR_EXPECTED',
  'HPE_LF_EXPECTED',
  'HPE_UNEXPECTED_SPACE',
])

/** The refusal for a parser error; anything not about the request line or headers is a 400. */
export function refusalForParserError(code: string | undefined): GatewayError {
  if (code === 'HPE_HEADER_OVERFLOW') return new GW_ERR_HEADER_TOO_LARGE()
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new GW_ERR_REQUEST_TIMEOUT()
  if (code !== undefined && REQUEST_LINE_CODES.has(code)) return new GW_ERR_BAD_REQUEST_LINE()
  if (code !== undefined && HEADER_CODES.has(code)) return new GW_ERR_BAD_HEADER()
  // Node answers an oversized chunk extension with 413; the code stays the one of a bad body.
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW')
    return Object.assign(new GW_ERR_BAD_REQUEST(), { statusCode: 413 })
  return new GW_ERR_BAD_REQUEST()
}

/** Most bytes of a target written to the log: enough to see a probe, bounded against floods. */
export const MAX_LOGGED_TARGET = 512

/**
 * The method and target of the request line at the start of `packet`, for the log. Only when the
 * packet starts with one (`TOKEN SP`): a later chunk of a long request holds no request line. The
 * query string is dropped, as in every decision line; bytes outside printable ASCII are written
 * `\xHH`, so the log shows exactly what was sent and stays one line.
 */
export function requestLineOf(packet: unknown): { method?: string; target?: string } {
  if (!Buffer.isBuffer(packet)) return {}
  const head = packet.subarray(0, 32 + MAX_LOGGED_TARGET).toString('latin1')
  const method = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32} /.exec(head)?.[0].slice(0, -1)
  if (method === undefined) return {}
  const rest = head.slice(method.length + 1)
  const end = rest.search(/[ \r\n?]/)
  const raw = end === -1 ? rest : rest.slice(0, end)
  return { method, target: printable(raw.slice(0, MAX_LOGGED_TARGET)) }
}

function printable(latin1: string): string {
  return latin1.replace(
    /[^\x21-\x7e]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}

function responseBytes(error: GatewayError): string {
  const status = error.statusCode ?? 400
  const body = refusalBody(status, error)
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
    `content-type: ${REFUSAL_HEADERS['content-type']}\r\n` +
    `cache-control: ${REFUSAL_HEADERS['cache-control']}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  )
}

/** Node's own in-flight response on a socket, if any (it sets `_httpMessage`; see socketOnError). */
function responseInFlight(socket: Socket): { headersSent?: boolean } | undefined {
  return (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage ?? undefined
}

/**
 * Fastify's `clientErrorHandler`. Answers as Node itself would (only while no response has begun on
 * that connection), then closes the connection once the answer is written: a parser that failed
 * cannot find where the next request starts. Resets need nothing: the client is gone.
 */
export function clientErrorHandler(log: pino.Logger): (err: ParserError, socket: Socket) => void {
  const answered = new WeakSet<Socket>()
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    // Bytes that arrive after the answer fail the parser again: one line and one answer suffice.
    if (answered.has(socket)) return void socket.destroy()
    answered.add(socket)
    const error = refusalForParserError(err.code)
    const decision: EarlyDecision = {
      ...requestLineOf(err.rawPacket),
      status: error.statusCode ?? 400,
      code: error.code,
      detail: err.reason ? `${err.code}: ${err.reason}` : err.code,
    }
    writeEarlyDecision(log, decision)
    if (socket.writable && !responseInFlight(socket)?.headersSent) {
      socket.end(responseBytes(error), () => socket.destroy())
    } else {
      socket.destroy()
    }
  }
}

/**
 * The server's 'checkExpectation' listener: an `Expect` other than 100-continue, which Node would
 * answer with a bare 417. The request line is intact here, so the line has the method and target.
 */
export function expectationHandler(log: pino.Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const error = new GW_ERR_EXPECTATION()
    const target = req.url ?? ''
    const queryAt = target.indexOf('?')
    writeEarlyDecision(log, {
      method: req.method,
      target: printable((queryAt === -1 ? target : target.slice(0, queryAt)).slice(0, MAX_LOGGED_TARGET)),
      status: error.statusCode ?? 417,
      code: error.code,
      detail: printable(String(req.headers.expect).slice(0, 64)),
    })
    res.writeHead(error.statusCode ?? 417, { ...REFUSAL_HEADERS, connection: 'close' })
    res.end(refusalBody(error.statusCode ?? 417, error))
  }
}
