// The main app of the callback setup: the "who is this?" endpoint, answering for one session the
// way a small Laravel or Express endpoint would (200 with the user, 401 for anyone else).
// Usage: node whoami-app.js <port> <cookie name> <cookie value>
import { createServer } from 'node:http'

const [port = '0', name = 'sessionId', value = ''] = process.argv.slice(2)
const known = `${name}=${value}`
const answer = JSON.stringify({ user: 'bench-user', groups: ['staff', 'bench'] })
const server = createServer((req, res) => {
  if (req.url !== '/auth/whoami') {
    res.writeHead(404).end()
  } else if (req.headers.cookie === known) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer)
  } else {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"user":null}')
  }
})
server.listen(Number(port), '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
