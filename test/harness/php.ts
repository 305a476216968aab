// Real PHP writing real sessions: the php CLI running the fixture script, and `php -S` (PHP's
// built-in web server) serving the fixture app, each with the session.* settings of the case under
// test given as -d options, so nothing depends on the machine's php.ini.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { projectRoot } from './nginx.js'
import { freePort, startOnFreePort } from './ports.js'
import { sleep, spawnManaged } from './process.js'

const run = promisify(execFile)

export const PHP_FIXTURES = join(projectRoot(), 'test/fixtures/apps/php')

export interface PhpSessionIni {
  readonly saveHandler: 'files' | 'redis' | 'rediscluster'
  /**
   * A folder (files), phpredis' `tcp://host:port?prefix=...` (redis), or its
   * `seed[]=host:port&seed[]=...` (rediscluster).
   */
  readonly savePath: string
  readonly serializeHandler?: 'php' | 'php_serialize' | 'php_binary'
  readonly gcMaxLifetime?: number
  readonly sidLength?: number
  readonly sidBitsPerCharacter?: 4 | 5 | 6
  readonly cookieDomain?: string
}

/** The -d options of these settings; strict mode on, as any PHP site should run. */
export function phpIniArgs(ini: PhpSessionIni): string[] {
  const settings: Record<string, string | number> = {
    'session.save_handler': ini.saveHandler,
    'session.save_path': ini.savePath,
    'session.serialize_handler': ini.serializeHandler ?? 'php',
    'session.gc_maxlifetime': ini.gcMaxLifetime ?? 1440,
    'session.gc_probability': 0,
    'session.use_strict_mode': 1,
    'session.sid_length': ini.sidLength ?? 32,
    'session.sid_bits_per_character': ini.sidBitsPerCharacter ?? 4,
    'session.cookie_domain': ini.cookieDomain ?? '',
    display_errors: 'stderr',
    error_reporting: -1,
  }
  return Object.entries(settings).flatMap(([k, v]) => ['-d', `${k}=${v}`])
}

/** Runs the fixture script session-cli.php; its output (a session id, or `ok`). */
export async function phpSessionCli(ini: PhpSessionIni, args: readonly string[]): Promise<string> {
  const { stdout, stderr } = await run(
    'php',
    [...phpIniArgs(ini), join(PHP_FIXTURES, 'session-cli.php'), ...args],
    { timeout: 20_000 },
  )
  if (stderr.trim() !== '') throw new Error(`php ${args[0]}: ${stderr.trim()}`)
  return stdout.trim()
}

export interface PhpServer {
  port: number
  baseUrl: string
  stop(): Promise<void>
}

/** `php -S` on a free loopback port, serving the fixture app (web/index.php) for every path. */
export function startPhpServer(ini: PhpSessionIni): Promise<PhpServer> {
  return startOnFreePort(async () => {
    const port = await freePort()
    const docroot = join(PHP_FIXTURES, 'web')
    const proc = spawnManaged(
      'php',
      [...phpIniArgs(ini), '-S', `127.0.0.1:${port}`, '-t', docroot, join(docroot, 'index.php')],
      docroot,
    )
    const baseUrl = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (proc.hasExited()) throw new Error(`php -S exited: ${proc.output()}`)
      const up = await fetch(`${baseUrl}/whoami`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (up) return { port, baseUrl, stop: () => proc.stop('SIGTERM') }
      await sleep(50)
    }
    await proc.stop('SIGKILL')
    throw new Error(`php -S did not answer within 10 s: ${proc.output()}`)
  })
}
