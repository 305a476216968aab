// Direct delivery (development mode): the gateway streams the file itself, ranges included, with the
// same headers it would give nginx. Production uses x-accel mode, where no byte passes through Node.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { resolveRange } from './byte-range.js'
import { openServedFile } from './direct-file.js'

export async function sendDirect(
  request: FastifyRequest,
  reply: FastifyReply,
  realRoot: string,
  segments: readonly string[],
  /** Name/value pairs, as downloadHeaderList gives them. */
  headers: readonly string[],
): Promise<'sent' | 'not-found' | 'not-a-file' | 'symlink'> {
  const opened = await openServedFile(realRoot, segments)
  // Allowed, but nothing servable there: nothing is sent, the caller refuses.
  if (!opened.ok) return opened.reason
  const { handle, stats } = opened
  const size = stats.size
  const range = resolveRange(size, request.headers.range)
  for (let i = 0; i < headers.length; i += 2) reply.header(headers[i] as string, headers[i + 1])
  reply.header('accept-ranges', 'bytes').header('last-modified', stats.mtime.toUTCString())
  if (range.kind === 'unsatisfiable') {
    await handle.close()
    reply.code(416).header('content-range', `bytes */${size}`).send()
    return 'sent'
  }
  const start = range.kind === 'partial' ? range.start : 0
  const end = range.kind === 'partial' ? range.end : size - 1
  if (range.kind === 'partial') reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`)
  else reply.code(200)
  reply.header('content-length', String(size === 0 ? 0 : end - start + 1))
  if (request.method === 'HEAD' || size === 0) {
    await handle.close()
    reply.send()
    return 'sent'
  }
  reply.send(handle.createReadStream({ start, end, autoClose: true }))
  return 'sent'
}
