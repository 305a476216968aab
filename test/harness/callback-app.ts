// A small main app of the kind the callback source serves (standing in for Laravel, Spring or
// ASP.NET): its own session cookie naming a session in an in-memory table, a login and a logout,
// and the "who is this?" endpoint the gateway calls. It records what every call to that endpoint
// carried, and can be made slow, broken, stopped or hung.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export const APP_COOKIE = 'app_session'
export const WHOAMI_PATH = '/auth/whoami'

/** What a test makes the endpoint answer instead of the truth; undefined: the truth. */
export interface ForcedAnswer {
  readonly status?: number
  readonly body?: string | Buffer
  /** Promises twice the body's length, sends the body, then drops the connection. */
  readonly cut?: boolean
  /** Sends the body in pieces, without a Content-Length. */
  readonly chunked?: boolean
  /** Waits this long before answering. */
  readonly delayMs?: number
}

export interface CallbackApp {
  readonly port: number
  readonly url: string
  readonly whoamiUrl: string
  /** Headers of every call the endpoint received, oldest first. */
  readonly calls: IncomingHttpHeaders[]
  /** Writes a session as the app's login does; the cookie's value. `user` null: a guest session. */
  login(user: string | null, groups: readonly string[]): string
  logout(cookieValue: string): void
  /** Every call to the endpoint answers this until set back to undefined. */
  force(answer: ForcedAnswer | undefined): void
  /** Calls are held unanswered until the returned function is called. */
  hang(): () => void
  /** Closes the port (connection refused); the returned function opens it again. */
  stop(): Promise<() => Promise<void>>
  close(): Promise<void>
}

export interface CallbackAppOptions {
  /** The app answers calls without this token in `x-gateway-token` with 400. */
  readonly token?: string
}

export async function startCallbackApp(o: CallbackAppOptions = {}): Promise<CallbackApp> {
  const sessions = new Map<string, { user: string | null; groups: readonly string[] }>()
  const calls: IncomingHttpHeaders[] = []
  const sockets = new Set<Socket>()
  const held = new Set<ServerResponse>()
  let forced: ForcedAnswer | undefined
  let hanging = false

  const sessionOf = (req: IncomingMessage) => {
    const pair = (req.headers.cookie ?? '')
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.startsWith(`${APP_COOKIE}=`))
    return pair === undefined ? undefined : pair.slice(APP_COOKIE.length + 1)
  }
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const newSession = (user: string | null, groups: readonly string[]) => {
    const id = randomBytes(24).toString('base64url')
    sessions.set(id, { user, groups: [...groups] })
    return id
  }

  const whoami = (req: IncomingMessage, res: ServerResponse) => {
    calls.push(req.headers)
    if (hanging) return void held.add(res)
    const answer = () => {
      if (forced?.status !== undefined || forced?.body !== undefined) {
        if (forced.cut) {
          const body = Buffer.from(forced.body ?? '{}')
          res.writeHead(forced.status ?? 200, { 'content-length': String(body.length * 2) })
          res.write(body)
          return void setTimeout(() => res.destroy(), 20)
        }
        res.writeHead(forced.status ?? 200, { 'content-type': 'application/json' })
        if (forced.chunked && forced.body !== undefined) {
          const body = Buffer.from(forced.body)
          for (let at = 0; at < body.length; at += 8192) res.write(body.subarray(at, at + 8192))
          return void res.end()
        }
        return void res.end(forced.body ?? '')
      }
      if (o.token !== undefined && req.headers['x-gateway-token'] !== o.token)
        return json(res, 400, { error: 'not the gateway' })
      const id = sessionOf(req)
      const session = id === undefined ? undefined : sessions.get(id)
      if (session === undefined) return json(res, 401, { error: 'unauthenticated' })
      json(res, 200, { user: session.user, groups: session.groups })
    }
    if (forced?.delayMs) setTimeout(answer, forced.delayMs)
    else answer()
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app')
    if (req.method === 'GET' && url.pathname === WHOAMI_PATH) return whoami(req, res)
    if (req.method === 'POST' && url.pathname === '/login') {
      const user = url.searchParams.get('user')
      const groups = (url.searchParams.get('groups') ?? '').split(',').filter((g) => g !== '')
      res.setHeader('set-cookie', `${APP_COOKIE}=${newSession(user, groups)}; Path=/; HttpOnly`)
      return json(res, 200, { user })
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      const id = sessionOf(req)
      if (id !== undefined) sessions.delete(id)
      return json(res, 200, {})
    }
    json(res, 404, {})
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy()
      held.clear()
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })

  await listen(0)
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  return {
    port,
    url,
    whoamiUrl: `${url}${WHOAMI_PATH}`,
    calls,
    login: newSession,
    logout: (id) => void sessions.delete(id),
    force: (answer) => {
      forced = answer
    },
    hang: () => {
      hanging = true
      return () => {
        hanging = false
        for (const res of held) res.destroy()
        held.clear()
      }
    },
    stop: async () => {
      await closeServer()
      return () => listen(port)
    },
    close: closeServer,
  }
}
