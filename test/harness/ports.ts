import { createServer } from 'node:net'

/**
 * A loopback TCP port that was free a moment ago: the OS picks it for a throwaway listener, which
 * is closed before the port is returned. Another process may still take it in between, so
 * starters that bind it should retry on "address in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('freePort: listener has no TCP address'))
        return
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)))
    })
  })
}

const PORT_TAKEN = /Address already in use|EADDRINUSE/

/**
 * Runs `startOnce` (which binds a fresh freePort() each time) until it starts, at most `attempts`
 * times: only a port taken in the meantime is worth another try, so any other failure is thrown
 * at once.
 */
export async function startOnFreePort<T>(startOnce: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce()
    } catch (err) {
      if (attempt >= attempts || !PORT_TAKEN.test(String((err as Error).message))) throw err
    }
  }
}
