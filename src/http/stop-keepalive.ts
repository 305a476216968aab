// A gateway behind nginx stops without failing a request (docs/scaling.md, "Stopping a gateway").
// nginx keeps idle connections open to every gateway (upstream keepalive) and sends the next request
// on whichever it takes from its cache. On close, Node's server stops listening (nginx's connects
// are refused and it tries the next gateway) and closes the connections idle at that moment, but a
// connection busy with a decision stays open after its answer: nginx puts it back in its cache, and
// its next request there met Fastify's 503 for a closing server, which nginx passed on to the
// client (2 and 4 in two rolling restarts of three gateways, of 8,000 and 22,000 downloads), and the
// gateway waited for nginx to drop it before it could exit (more than 10 s, then it was killed).
// So every answer still to be written once the close begins says `Connection: close`: nginx drops
// that connection after the answer and never sends another request on it.

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import fp from 'fastify-plugin'

/** Node's own link from a socket to the response it is busy with (null while idle). */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null
}

/**
 * Tracks connections, not requests: one entry per connection nginx opens (it keeps them for
 * thousands of requests), nothing on a download's own path. The allowed download is written on
 * Node's response directly (delivery/send-accel.ts), past Fastify's hooks, so the answers in
 * flight are reached through their sockets. Requests that arrive after the close began get
 * `Connection: close` from Fastify itself (return503OnClosing is off in app.ts).
 */
export const stopKeepalive = fp(
  async (app) => {
    const sockets = new Set<HttpSocket>()
    app.server.on('connection', (socket: HttpSocket) => {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    })
    app.addHook('preClose', (done) => {
      for (const socket of sockets) {
        const res = socket._httpMessage
        // Headers not yet written: Node writes `Connection: close` and ends the connection after
        // this answer. An answer already on its way keeps its connection (a direct-mode download);
        // a request arriving on it later is answered with `Connection: close` by Fastify.
        if (res && !res.headersSent) res.shouldKeepAlive = false
      }
      done()
    })
  },
  { name: 'gateway-stop-keepalive' },
)
