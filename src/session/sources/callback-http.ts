// One GET to the main app's "who is this?" endpoint: bounded in time and in bytes, over kept-alive
// connections. Node's own http/https with a keep-alive Agent rather than the global fetch: on
// Node 20 fetch goes through web streams and costs several times more CPU per small exchange, and
// the Agent lets the source bound its sockets, see whether a socket was reused (the retry below)
// and destroy them all on close, with no dependency.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export interface CallbackAnswer {
  readonly status: number
  /** The body, only for a 200. */
  readonly body?: Buffer
}

export interface CallbackHttpOptions {
  readonly url: URL
  readonly timeoutMs: number
  /** Bytes a 200 body may have; past it the exchange fails. */
  readonly maxBodyBytes: number
  /** Sent with every call, e.g. the shared token that tells the gateway from a browser. */
  readonly headers: Readonly<Record<string, string>>
  /** Connections kept open to the app at most; further calls wait for one. */
  readonly maxSockets: number
}

/** Why the app could not answer; the message is safe to log (no cookie, no token, no URL). */
export class CallbackFailure extends Error {
  override name = 'CallbackFailure'
}

export class CallbackHttp {
  readonly #o: CallbackHttpOptions
  readonly #agent: HttpAgent
  readonly #request: typeof httpRequest

  constructor(o: CallbackHttpOptions) {
    this.#o = o
    const https = o.url.protocol === 'https:'
    const agentOptions = { keepAlive: true, maxSockets: o.maxSockets, maxFreeSockets: o.maxSockets }
    this.#agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
    this.#request = https ? httpsRequest : httpRequest
  }

  /** GETs the endpoint with `cookie` (or none). Rejects with CallbackFailure. */
  async get(cookie: string | undefined): Promise<CallbackAnswer> {
    const deadline = performance.now() + this.#o.timeoutMs
    try {
      return await this.#once(cookie, this.#o.timeoutMs)
    } catch (err) {
      // A kept-alive connection the app closed just as we reused it fails before any answer;
      // a GET is safe to send again once, on a fresh connection (Node's documented pattern),
      // within what is left of the same timeout.
      const left = Math.floor(deadline - performance.now())
      if (err instanceof StaleSocket && left > 0) return this.#once(cookie, left)
      throw err
    }
  }

  close(): void {
    this.#agent.destroy()
  }

  #once(cookie: string | undefined, waitMs: number): Promise<CallbackAnswer> {
    const { url, timeoutMs, maxBodyBytes } = this.#o
    return new Promise<CallbackAnswer>((resolve, reject) => {
      let settled = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        req.destroy()
        reject(err)
      }
      const headers: Record<string, string> = { accept: 'application/json', ...this.#o.headers }
      if (cookie !== undefined) headers.cookie = cookie
      const req = this.#request(url, { method: 'GET', agent: this.#agent, headers })
      const timer = setTimeout(() => fail(new CallbackFailure(`no answer within ${timeoutMs} ms`)), waitMs)
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        fail(stale ? new StaleSocket() : new CallbackFailure(err.code ?? err.message))
      })
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        const chunks: Buffer[] = []
        let size = 0
        res.on('error', (err) => fail(new CallbackFailure(err.message)))
        // 'end' comes first when the answer is whole: a close before it is an answer cut short.
        res.on('close', () => fail(new CallbackFailure('connection closed mid-answer')))
        res.on('end', () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve(status === 200 ? { status, body: Buffer.concat(chunks, size) } : { status })
        })
        if (status !== 200) {
          // Only a 200's body is read; others are drained so the connection serves the next call.
          res.resume()
          return
        }
        const declared = Number(res.headers['content-length'])
        if (declared > maxBodyBytes)
          return fail(new CallbackFailure(`answer larger than ${maxBodyBytes} bytes`))
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > maxBodyBytes) fail(new CallbackFailure(`answer larger than ${maxBodyBytes} bytes`))
          else chunks.push(chunk)
        })
      })
      req.end()
    })
  }
}

class StaleSocket extends CallbackFailure {
  constructor() {
    super('connection reset by the app')
  }
}
