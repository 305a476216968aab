import { execFileSync } from 'node:child_process'
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './ports.js'
import { type Managed, sleep, spawnManaged } from './process.js'

export interface PostgresServer {
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  /** postgres://user@127.0.0.1:port/database (no password: give it apart). */
  readonly url: string
  /** Runs SQL as the superuser (tests set tables up and change users with it). */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResultRow[]>
  /** Stops the server, keeping its data; start() brings it back on the same port. */
  halt(): Promise<void>
  start(): Promise<void>
  /** Stops it for good and removes its folder. */
  stop(): Promise<void>
}

const USER = 'gateway_test'
const DATABASE = 'postgres'

/** Debian keeps the server's programs out of PATH, under /usr/lib/postgresql/<major>/bin. */
async function serverBin(): Promise<string> {
  const root = '/usr/lib/postgresql'
  const majors = (await readdir(root).catch(() => [] as string[])).filter((d) => /^\d+$/.test(d))
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) throw new Error('startPostgres: no PostgreSQL server under /usr/lib/postgresql')
  return join(root, newest, 'bin')
}

/**
 * As root, the server runs as the `postgres` system user (it refuses to run as root): the command
 * goes through setpriv, which execs it, so the PID we stop is the server's own.
 */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args]
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]]
}

/**
 * A throwaway PostgreSQL cluster (initdb) on a free loopback port, password authentication over
 * TCP, its own temp folder; stopped by PID. Register `t.teardown(() => server.stop())`.
 */
export async function startPostgres(opts: { cpuList?: string } = {}): Promise<PostgresServer> {
  const bin = await serverBin()
  const dir = await mkdtemp(join(tmpdir(), 'gw-pg-'))
  const data = join(dir, 'data')
  const password = `pw-${Math.random().toString(36).slice(2)}`
  await writeFile(join(dir, 'pwfile'), `${password}\n`)
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    await chown(dir, uid, gid)
    await chown(join(dir, 'pwfile'), uid, gid)
  }
  await chmod(dir, 0o700)
  const [initCmd, initArgs] = asServerUser(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    USER,
    `--pwfile=${join(dir, 'pwfile')}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ])
  execFileSync(initCmd, initArgs, { stdio: 'pipe' })

  const port = await freePort()
  let proc: Managed | undefined
  let pool: pg.Pool | undefined
  const url = `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`

  const start = async () => {
    const [cmd, args] = asServerUser(join(bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ])
    // Benchmarks pin servers to one core; the server's backends inherit it.
    const started = opts.cpuList
      ? spawnManaged('taskset', ['-c', opts.cpuList, cmd, ...args], dir)
      : spawnManaged(cmd, args, dir)
    proc = started
    const deadline = Date.now() + 20_000
    for (;;) {
      if (started.hasExited()) throw new Error(`postgres exited during start:\n${started.output()}`)
      const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: DATABASE })
      client.on('error', () => {})
      const up = await client.connect().then(
        () => true,
        () => false,
      )
      await client.end().catch(() => {})
      if (up) return
      if (Date.now() > deadline) throw new Error(`postgres did not start:\n${started.output()}`)
      await sleep(100)
    }
  }
  const halt = async () => {
    await pool?.end().catch(() => {})
    pool = undefined
    // SIGINT: PostgreSQL's fast shutdown (ends sessions, then stops).
    await proc?.stop('SIGINT', 10_000)
    proc = undefined
  }
  try {
    await start()
  } catch (err) {
    await halt()
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    user: USER,
    password,
    database: DATABASE,
    url,
    async sql(text, values = []) {
      if (pool === undefined) {
        pool = new pg.Pool({ host: '127.0.0.1', port, user: USER, password, database: DATABASE, max: 2 })
        // A halt ends its idle connections from the server's side: expected, not a failure.
        pool.on('error', () => {})
      }
      return (await pool.query(text, values)).rows
    },
    halt,
    start,
    async stop() {
      await halt()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
