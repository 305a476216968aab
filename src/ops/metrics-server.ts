// The metrics listener: its own port, GET /metrics only, never behind the download server's nginx.
// Plain node:http rather than a second Fastify app: one route, no decisions, nothing to parse.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { GatewayMetrics } from './metrics.js'

export interface MetricsServer {
  readonly port: number
  close(): Promise<void>
}

export function startMetricsServer(
  metrics: GatewayMetrics,
  host: string,
  port: number,
  onError: (err: Error) => void,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics' && !request.url?.startsWith('/metrics?')) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: the metrics are at /metrics\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    metrics.scrape().then(
      ({ contentType, text }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      (err: Error) => {
        onError(err)
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n')
      },
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      server.on('error', onError)
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeIdleConnections()
          }),
      })
    })
  })
}
