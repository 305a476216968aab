import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, startOnFreePort } from './ports.js'
import { sleep, spawnManaged } from './process.js'

export interface RedisServer {
  port: number
  /** `redis://127.0.0.1:<port>`, with `:<password>@` when started with `requirePass`. */
  url: string
  password: string | undefined
  pid: number
  stop(): Promise<void>
  /** SIGSTOP: the server keeps its connections but stops answering (a hung store). */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
}

export interface RedisOptions {
  requirePass?: string
  /** How long to wait for the first PONG; default 10 s. */
  startTimeoutMs?: number
  /** Runs redis-server under `taskset -c <cpuList>` (benchmarks pin servers to one core). */
  cpuList?: string
}

/**
 * Starts a throwaway `redis-server` from PATH on a free loopback port: no persistence, its own
 * temp working dir, killed by PID on stop(). Register `t.teardown(() => redis.stop())`.
 */
export function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  return startOnFreePort(() => startOnce(opts))
}

async function startOnce(opts: RedisOptions): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'gw-redis-'))
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
  ]
  if (opts.requirePass !== undefined) args.push('--requirepass', opts.requirePass)
  const proc = opts.cpuList
    ? spawnManaged('taskset', ['-c', opts.cpuList, 'redis-server', ...args], dir)
    : spawnManaged('redis-server', args, dir)

  let paused = false
  const stop = async () => {
    // A stopped process only acts on SIGTERM once continued (SIGKILL would not need it).
    if (paused) proc.child.kill('SIGCONT')
    paused = false
    await proc.stop('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  }

  try {
    await waitForPong(port, opts.startTimeoutMs ?? 10_000, () => proc.hasExited())
  } catch (err) {
    await stop()
    throw new Error(`startRedis: ${(err as Error).message}\n${proc.output()}`)
  }

  const auth = opts.requirePass === undefined ? '' : `:${encodeURIComponent(opts.requirePass)}@`
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    password: opts.requirePass,
    pid: proc.pid,
    stop,
    pause() {
      paused = true
      proc.child.kill('SIGSTOP')
    },
    resume() {
      paused = false
      proc.child.kill('SIGCONT')
    },
  }
}

async function waitForPong(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited()) throw new Error('redis-server exited during start')
    if (await ping(port)) return
    await sleep(25)
  }
  throw new Error(`no PONG on 127.0.0.1:${port} within ${timeoutMs} ms`)
}

/**
 * true once the server answers an inline PING: `+PONG`, or `-NOAUTH` when a password is set
 * (it answers, so it is up).
 */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))
    })
  })
}
