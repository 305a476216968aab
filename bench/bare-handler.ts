// Baseline: a bare Fastify handler that answers X-Accel-Redirect for any path, with no checks.
// Usage: node bare-handler.js <port> <internal prefix>
import Fastify from 'fastify'

const [port = '0', prefix = '_protected'] = process.argv.slice(2)
const app = Fastify({ logger: false })
app.get('/download/*', (request, reply) => {
  const rest = request.raw.url?.slice('/download/'.length) ?? ''
  reply
    .code(200)
    .header('content-type', 'application/octet-stream')
    .header('x-accel-redirect', `/${prefix}/${rest}`)
    .send()
})
await app.listen({ host: '127.0.0.1', port: Number(port) })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
