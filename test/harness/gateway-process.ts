// The built server (dist/, made by the test command, as in server-signals.test.ts) as a process of
// its own on a given loopback port, for what only a process shows: signals, a stop under load, a
// restart on the same port. Built rather than run through the TypeScript loader: three of those
// starting at once on a busy machine took longer than 30 s.
import { join } from 'node:path'
import { rawGet } from './http.js'
import { projectRoot } from './nginx.js'
import { type Managed, sleep, spawnManaged } from './process.js'

export interface GatewayProcess {
  port: number
  process: Managed
  /** Resolves once /readyz answers 200; rejects if the process exits first or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>
  /** Sends `signal` (SIGKILL after `graceMs`) and resolves with the exit code or signal name. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>
}

/** Starts the server with `env` (GATEWAY_CONFIG and the secrets) listening on 127.0.0.1:`port`. */
export function startGatewayProcess(port: number, env: Record<string, string>): GatewayProcess {
  const managed = spawnManaged(
    process.execPath,
    [join(projectRoot(), 'dist', 'src', 'server.js')],
    projectRoot(),
    { ...env, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port) },
  )
  return {
    port,
    process: managed,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        if (managed.hasExited())
          throw new Error(`gateway on ${port} exited during start:\n${managed.output()}`)
        const status = await rawGet(port, '/readyz', {}, { timeoutMs: 1000 }).then(
          (res) => res.status,
          () => 0,
        )
        if (status === 200) return
        await sleep(50)
      }
      throw new Error(`gateway on ${port} not ready within ${timeoutMs} ms:\n${managed.output()}`)
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      await managed.stop(signal, graceMs)
      return managed.exited
    },
  }
}
