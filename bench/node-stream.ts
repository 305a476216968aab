// Baseline: Node streaming the file itself (Fastify + a read stream), behind the same nginx.
// Usage: node node-stream.js <port> <files root>
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'

const [port = '0', root = '.'] = process.argv.slice(2)
const app = Fastify({ logger: false })
app.get('/download/*', async (request, reply) => {
  const rest = (request.params as { '*': string })['*']
  if (rest.split('/').some((s) => s === '..' || s === '')) return reply.code(400).send()
  const file = join(root, rest)
  const info = await stat(file)
  return reply
    .code(200)
    .header('content-type', 'application/octet-stream')
    .header('content-length', info.size)
    .send(createReadStream(file))
})
await app.listen({ host: '127.0.0.1', port: Number(port) })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
