// The allowed download in x-accel mode: an empty 200 that tells nginx which file to send. Written on
// Node's response directly, not through Fastify's reply: this is the one reply every download pays
// for, and Fastify's pipeline (hook runner, a header object lower-cased name by name, then turned
// back into a header block) cost 5% of the gateway's Node CPU per download (0.93-0.97 over 8
// rounds, old and new side by side behind nginx on one core). It also keeps X-Accel headers out of
// Fastify altogether, so the guard (http/accel-guard.ts) strips them from every reply Fastify sends.
import type { ServerResponse } from 'node:http'
import { ACCEL_HEADERS } from './accel-header-names.js'

/**
 * Sends the 200 with `headers` (accelReplyHeaders: name/value pairs, Content-Length 0 among them,
 * X-Accel-Redirect last). Node checks every name and value before anything reaches the socket, so
 * a bad value throws with nothing sent, and the caller's error handler answers instead, through
 * Fastify and its guard.
 */
export function sendAccel(res: ServerResponse, headers: string[]): void {
  // writeHead merges in whatever was set on the raw response before (nothing of ours does): no
  // X-Accel header but the decision's may reach nginx.
  if (res.getHeaderNames().length > 0) for (const name of ACCEL_HEADERS) res.removeHeader(name)
  try {
    res.writeHead(200, headers)
  } catch (err) {
    // Nothing was sent. Leave the response as the error handler's reply expects it: without any of
    // these headers (merged ones stay set up to the bad one) and without the "OK" status text
    // writeHead set first, which the 500 would otherwise keep.
    for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i] as string)
    res.statusMessage = ''
    throw err
  }
  res.end()
}
