// Checks on the raw bytes of one HTTP response, for tests that feed hostile input to the gateway:
// an injected header or a second response smuggled after the first is visible only there.
import { connect } from 'node:net'
import type { RunningGateway } from './gateway.js'
import { parseResponse, type RawResponse } from './http.js'

/** RFC 9110 token characters: what a header name may be made of. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Visible ASCII, space and tab: what our header values are (nothing we send needs more). */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/

/** Header names a download reply must never carry, whatever the file name. */
export const NEVER_ON_A_DOWNLOAD = ['set-cookie', 'location', 'refresh', 'link', 'x-accel-redirect']

/**
 * What is wrong with the framing of `res` (empty when nothing): header lines that are not
 * `name: value` in plain ASCII, repeated Content-Disposition/Content-Type, and bytes after the end
 * of a message with a Content-Length (a second, smuggled response).
 */
export function framingProblems(res: RawResponse): string[] {
  const problems: string[] = []
  const headEnd = res.raw.indexOf('\r\n\r\n', 0, 'latin1')
  if (headEnd < 0) return ['no end of head']
  const lines = res.raw.subarray(0, headEnd).toString('latin1').split('\r\n')
  if (!/^HTTP\/1\.[01] \d{3} /.test(lines[0] ?? '')) problems.push(`status line ${JSON.stringify(lines[0])}`)
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon)
    const value = line.slice(colon + 1)
    if (colon <= 0 || !FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) {
      problems.push(`header line ${JSON.stringify(line)}`)
    }
  }
  for (const name of ['content-disposition', 'content-type', 'content-length']) {
    if (Array.isArray(res.headers[name])) problems.push(`${name} sent ${res.headers[name].length} times`)
  }
  const length = res.headers['content-length']
  const chunked = /chunked/i.test(String(res.headers['transfer-encoding'] ?? ''))
  if (typeof length === 'string' && !chunked && res.raw.length > headEnd + 4 + res.body.length) {
    const extra = res.raw.subarray(headEnd + 4 + res.body.length).toString('latin1')
    // HEAD answers announce a length but carry no body.
    if (extra.length > 0) problems.push(`bytes after the message: ${JSON.stringify(extra.slice(0, 80))}`)
  }
  return problems
}

/** Header names from NEVER_ON_A_DOWNLOAD (and any `x-injected`) present on `res`. */
export function forbiddenHeaders(res: RawResponse): string[] {
  return Object.keys(res.headers).filter((n) => NEVER_ON_A_DOWNLOAD.includes(n) || n.startsWith('x-injected'))
}

/**
 * Like rawGet, but reads until the server closes the connection (`Connection: close`), so
 * whatever follows the first response (a smuggled second one) is in `raw` too.
 */
export function rawGetWhole(
  port: number,
  target: string | Buffer,
  headers: Record<string, string> = {},
  opts: { method?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const method = opts.method ?? 'GET'
  const head = [
    `Host: localhost`,
    'Connection: close',
    ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`),
  ]
  const request = Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
    Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`, 'latin1'),
  ])
  const timeoutMs = opts.timeoutMs ?? 5000
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ port, host: '127.0.0.1' })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`rawGetWhole ${target}: not closed within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('connect', () => socket.write(request))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('end', () => {
      clearTimeout(timer)
      socket.destroy()
      try {
        const res = parseResponse(Buffer.concat(chunks), method === 'HEAD', true)
        if (res) resolve(res)
        else reject(new Error(`rawGetWhole ${target}: incomplete response`))
      } catch (err) {
        reject(err)
      }
    })
  })
}

/**
 * The first decision line the gateway logs at or after index `from` of its log, waiting for it:
 * the line is written when the response has finished, which can be just after the client has it.
 */
export async function decisionAfter(
  gateway: RunningGateway,
  from: number,
  timeoutMs = 2000,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = gateway
      .logs()
      .slice(from)
      .find((l) => l.msg === 'decision')
    if (line || Date.now() > deadline) return line
    await new Promise((r) => setTimeout(r, 10))
  }
}

export interface Exchange {
  /** Every byte received until the server closed, or until the timeout. */
  raw: Buffer
  /** The first complete HTTP/1.x response in `raw`, if there is one. */
  response: RawResponse | undefined
  /** 'closed' when the server closed, 'reset' on a socket error, 'timeout' otherwise. */
  end: 'closed' | 'reset' | 'timeout'
}

/**
 * Sends `request` (a whole raw request, meant with `Connection: close`) and keeps every byte until
 * the server closes, times out or resets, so a caller can look for leaked bytes even where no HTTP
 * response was parsed (HTTP/0.9 bodies, garbage, a reset mid-reply).
 */
export function rawExchange(port: number, request: Buffer, timeoutMs = 10_000): Promise<Exchange> {
  const isHead = request.subarray(0, 5).toString('latin1') === 'HEAD '
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect({ port, host: '127.0.0.1' })
    let settled = false
    const finish = (end: Exchange['end']) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const raw = Buffer.concat(chunks)
      let response: RawResponse | undefined
      try {
        response = parseResponse(raw, isHead, true)
      } catch {
        response = undefined
      }
      resolve({ raw, response, end })
    }
    const timer = setTimeout(() => finish('timeout'), timeoutMs)
    socket.once('connect', () => socket.write(request))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.once('end', () => finish('closed'))
    socket.once('close', () => finish('closed'))
    socket.once('error', () => finish('reset'))
  })
}
