import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  /** Lower-case names; a header sent more than once is an array in arrival order. */
  headers: Record<string, string | string[]>
  /** Decoded body (chunked framing removed). */
  body: Buffer
  /** Every byte the server sent. */
  raw: Buffer
}

export interface RawOptions {
  /** Default 5000 ms. */
  timeoutMs?: number
  /** Default 127.0.0.1. */
  host?: string
}

/**
 * Sends `request` byte for byte over a plain TCP socket and parses the first final response.
 * fetch and node:http normalise or re-escape paths; traversal tests need `/download/a/../b` and
 * `%2e%2e` to reach nginx exactly as written. The response ends at its Content-Length, its last
 * chunk, or the server's close; send `Connection: close` (rawGet does) so nothing waits on a
 * keepalive. HEAD requests and 204/304 answers have no body.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  opts: RawOptions = {},
): Promise<RawResponse> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const isHead = Buffer.from(request.slice(0, 5)).toString('latin1') === 'HEAD '
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let settled = false
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' })
    const finish = (err: Error | undefined, res?: RawResponse) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(res as RawResponse)
    }
    const timer = setTimeout(() => {
      const got = Buffer.concat(chunks).toString('latin1').slice(0, 500)
      finish(new Error(`rawRequest: no complete response within ${timeoutMs} ms; got ${JSON.stringify(got)}`))
    }, timeoutMs)

    socket.once('connect', () => socket.write(request))
    const tryParse = (closed: boolean) => {
      const all = Buffer.concat(chunks)
      try {
        const parsed = parseResponse(all, isHead, closed)
        if (parsed) finish(undefined, parsed)
        else if (closed) {
          finish(new Error(`rawRequest: closed mid-response: ${JSON.stringify(all.toString('latin1'))}`))
        }
      } catch (err) {
        finish(err as Error)
      }
    }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      tryParse(false)
    })
    socket.once('end', () => tryParse(true))
    socket.once('error', (err) => finish(err))
  })
}

/** A GET (or another method) with the path exactly as given, Host and Connection: close. */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  opts: RawOptions & { method?: string; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const lines = [`${opts.method ?? 'GET'} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  return rawRequest(
    port,
    opts.body === undefined ? head : Buffer.concat([head, Buffer.from(opts.body)]),
    opts,
  )
}

/**
 * Parses one HTTP/1.x response from `data`; undefined while it is incomplete. `closed` says the
 * server has closed, which completes a body that has no length.
 */
export function parseResponse(data: Buffer, isHead: boolean, closed: boolean): RawResponse | undefined {
  let start = 0
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', start, 'latin1')
    if (headEnd < 0) return undefined
    const lines = data.subarray(start, headEnd).toString('latin1').split('\r\n')
    const statusLine = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '')
    if (!statusLine) throw new Error(`parseResponse: bad status line ${JSON.stringify(lines[0])}`)
    const status = Number(statusLine[1])
    const headers: Record<string, string | string[]> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      const prev = headers[name]
      headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
    }
    const bodyStart = headEnd + 4
    // 1xx answers (100 Continue) come before the real one.
    if (status < 200) {
      start = bodyStart
      continue
    }
    const raw = data
    if (isHead || status === 204 || status === 304) {
      return { status, headers, body: Buffer.alloc(0), raw }
    }
    const te = headers['transfer-encoding']
    if (typeof te === 'string' && /chunked/i.test(te)) {
      const body = decodeChunked(data.subarray(bodyStart))
      return body ? { status, headers, body, raw } : undefined
    }
    const cl = headers['content-length']
    if (typeof cl === 'string') {
      const length = Number(cl)
      if (data.length - bodyStart < length) return undefined
      return { status, headers, body: data.subarray(bodyStart, bodyStart + length), raw }
    }
    return closed ? { status, headers, body: data.subarray(bodyStart), raw } : undefined
  }
}

/** The body of a complete chunked message; undefined until the last chunk has arrived. */
function decodeChunked(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = []
  let pos = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', pos, 'latin1')
    if (lineEnd < 0) return undefined
    const size = Number.parseInt(data.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16)
    if (Number.isNaN(size)) throw new Error('parseResponse: bad chunk size')
    pos = lineEnd + 2
    if (size === 0) {
      // An empty line ends the message, after trailer lines if there are any.
      const done =
        data.subarray(pos, pos + 2).toString('latin1') === '\r\n' ||
        data.indexOf('\r\n\r\n', pos, 'latin1') >= 0
      return done ? Buffer.concat(parts) : undefined
    }
    if (data.length < pos + size + 2) return undefined
    parts.push(data.subarray(pos, pos + size))
    pos += size + 2
  }
}

export interface GetResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/**
 * A plain GET through node:http with no connection reuse. Node sends the path as given but
 * rejects some characters; use rawGet for hostile paths.
 */
export function get(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<GetResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
      res.once('error', reject)
    })
    req.once('timeout', () => req.destroy(new Error(`get ${url}: no answer within ${timeoutMs} ms`)))
    req.once('error', reject)
    req.end()
  })
}
