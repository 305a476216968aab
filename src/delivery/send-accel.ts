// The allowed download in x-accel mode: an empty 200 that tells nginx which file to send. Written on
// Node's response directly, not through Fastify's reply: this is the one reply every download pays
// for, and Fastify's pipeline (hook runner, a header object lower-cased name by name, then turned
// back into a header block) cost 5-12% of the gateway's Node CPU per request (two runs behind
// nginx, old and new side by side on one core). It also keeps X-Accel headers out of Fastify
// altogether, so the guard (accel-guard.ts) strips them from every reply Fastify sends.
import type { ServerResponse } from 'node:http'

/**
 * Sends the 200 with `headers` (name/value pairs, X-Accel-Redirect last). Node checks every name
 * and value before anything reaches the socket, so a bad value throws with nothing sent, and the
 * caller's error handler answers instead, through Fastify and its guard.
 */
export function sendAccel(res: ServerResponse, headers: readonly string[]): void {
  // No body: Content-Length 0 keeps the upstream connection reusable without a chunked terminator.
  res.writeHead(200, [...headers, 'content-length', '0'])
  res.end()
}
