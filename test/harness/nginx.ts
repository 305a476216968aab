import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findNjsModule } from '../../src/deploy/nginx-check.js'
import { renderTemplate, upstreamServers, withEdgeLinks } from '../../src/deploy/render-nginx.js'
import { freePort, startOnFreePort } from './ports.js'
import { sleep, spawnManaged } from './process.js'

/**
 * The project root: the nearest folder above this file holding package.json. Searched rather than
 * fixed, because this file runs both from test/harness/ (tap) and from dist/test/harness/ (bench).
 */
export function projectRoot(from = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/** The download server template that the compose file and these tests share. */
export const TEMPLATE_PATH = join(projectRoot(), 'nginx/templates/download.conf.template')

export const DEFAULT_INTERNAL_PREFIX = '_protected'

/** The edge link locations and their njs check, inserted at the template's marker line. */
export const EDGE_LINKS_SNIPPET_PATH = join(projectRoot(), 'nginx/edge-links.conf')
export const EDGE_LINK_MODULE_PATH = join(projectRoot(), 'nginx/njs/edge-link.js')

export interface NginxOptions {
  /** Loopback port of the gateway (or a stand-in) that nginx proxies to, or of several gateways. */
  gatewayPort: number | readonly number[]
  /** nginx `server` parameters for every gateway (`fail_timeout=2s`); default none. */
  gatewayParameters?: string
  /** Directory holding the files, served under the internal prefix. */
  filesRoot: string
  /** Default `_protected`. */
  internalPrefix?: string
  /** Default `localhost`. */
  serverName?: string
  /** How long to wait for the port; default 10 s. */
  startTimeoutMs?: number
  /** Runs nginx under `taskset -c <cpuList>` (benchmarks pin servers to one core). */
  cpuList?: string
  /** Default true; the benchmark turns the access log off for every setup alike. */
  accessLog?: boolean
  /** More directives for the http block, after the download server (e.g. a baseline server). */
  extraHttpConfig?: string
  /** Default the project's own (TEMPLATE_PATH); benchmarks give another build's. */
  templatePath?: string
  /** Serve the download server over TLS with this certificate (see tls.ts); baseUrl is https. */
  tls?: { certificate: string; key: string }
  /**
   * When the tests run as root: the user the workers run as, in nginx's `user` syntax
   * (unprivilegedWorkerUser() gives one). Default root, which reads every file whatever its mode;
   * a test of an unreadable file needs another. The caller makes filesRoot reachable for it.
   */
  workerUser?: string
  /** Edge links on (njs loaded), with the keys in this JSON file (read at start and reload). */
  edgeLinks?: { keysFile: string }
}

export interface NginxServer {
  port: number
  /** `http://127.0.0.1:<port>`, or `https://` with the `tls` option. */
  baseUrl: string
  /** The master process. */
  pid: number
  /** Temp dir holding nginx.conf, download.conf, logs and nginx's temp paths. Removed on stop(). */
  dir: string
  stop(): Promise<void>
  /** Everything nginx wrote to its error log so far (level info). */
  errorLog(): string
  /** Re-renders the template from disk and reloads nginx (SIGHUP); rejects if nginx refuses it. */
  reload(): Promise<void>
}

// One renderer for the harness and for `download-gateway render-nginx`: the same placeholders,
// the same refusal of an unfilled one.
export { renderTemplate, templateVariables } from '../../src/deploy/render-nginx.js'

/**
 * `nobody` and its primary group, in nginx's `user` syntax (`nobody nogroup` on Debian): nginx
 * would otherwise look for a group named like the user, which many systems do not have.
 */
export function unprivilegedWorkerUser(): string {
  const field = (file: string, match: (cols: string[]) => boolean, col: number) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find(match)?.[col]
  const gid = field('/etc/passwd', (cols) => cols[0] === 'nobody', 3)
  const group = gid === undefined ? undefined : field('/etc/group', (cols) => cols[2] === gid, 0)
  if (group === undefined) throw new Error('no user nobody with a group in /etc/passwd and /etc/group')
  return `nobody ${group}`
}

export function findNginx(): string {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'nginx')),
    '/usr/sbin/nginx',
    '/usr/local/sbin/nginx',
    '/usr/local/nginx/sbin/nginx',
  ]
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  throw new Error('nginx binary not found in PATH or /usr/sbin')
}

function mainConfig(dir: string, downloadConf: string, opts: NginxOptions): string {
  const mimeTypes = '/etc/nginx/mime.types'
  const njs = opts.edgeLinks ? findNjsModule() : undefined
  if (opts.edgeLinks && njs === undefined)
    throw new Error('edge links need the njs module (libnginx-mod-http-js)')
  const lines = [
    '# Written by test/harness/nginx.ts for one test run.',
    ...(njs ? [`load_module ${njs};`] : []),
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events {',
    '    worker_connections 256;',
    '}',
    'http {',
    existsSync(mimeTypes) ? `    include ${mimeTypes};` : '    # no mime.types on this machine',
    opts.accessLog === false ? '    access_log off;' : `    access_log ${dir}/access.log;`,
    `    client_body_temp_path ${dir}/client_body;`,
    `    proxy_temp_path ${dir}/proxy;`,
    `    fastcgi_temp_path ${dir}/fastcgi;`,
    `    uwsgi_temp_path ${dir}/uwsgi;`,
    `    scgi_temp_path ${dir}/scgi;`,
    // At http level, so the template's own server block becomes a TLS one by its listen line alone.
    ...(opts.tls
      ? [`    ssl_certificate ${opts.tls.certificate};`, `    ssl_certificate_key ${opts.tls.key};`]
      : []),
    `    include ${downloadConf};`,
    ...(opts.extraHttpConfig ? [opts.extraHttpConfig] : []),
    '}',
    '',
  ]
  // As root, the master hands the workers to `nobody`, who cannot enter the test's temp dirs
  // (mkdtemp makes them 0700). Tests run as root on CI, so the workers stay root too, unless the
  // test asks for a user of its own (startOnce then opens the temp dir for it).
  if (process.getuid?.() === 0) lines.unshift(`user ${opts.workerUser ?? 'root'};`)
  return lines.join('\n')
}

/**
 * Starts nginx with the project's download template on a free loopback port, proxying to
 * `gatewayPort` and serving `filesRoot` under the internal prefix. Register
 * `t.teardown(() => nginx.stop())`.
 */
export function startNginx(opts: NginxOptions): Promise<NginxServer> {
  return startOnFreePort(() => startOnce(opts))
}

async function startOnce(opts: NginxOptions): Promise<NginxServer> {
  const binary = findNginx()
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'gw-nginx-'))
  const confPath = join(dir, 'nginx.conf')
  const downloadConf = join(dir, 'download.conf')
  const errorLogPath = join(dir, 'error.log')
  const errorLog = () => {
    try {
      return readFileSync(errorLogPath, 'utf8')
    } catch {
      return ''
    }
  }

  const gatewayPorts = typeof opts.gatewayPort === 'number' ? [opts.gatewayPort] : [...opts.gatewayPort]
  const render = async () => {
    const vars = {
      DOWNLOAD_LISTEN: `127.0.0.1:${port}${opts.tls ? ' ssl' : ''}`,
      DOWNLOAD_SERVER_NAME: opts.serverName ?? 'localhost',
      GATEWAY_SERVERS: upstreamServers(
        gatewayPorts.map(
          (p) => `127.0.0.1:${p}${opts.gatewayParameters ? ` ${opts.gatewayParameters}` : ''}`,
        ),
      ),
      // What templates before the list of gateways took (benchmarks render older builds).
      GATEWAY_UPSTREAM: `127.0.0.1:${gatewayPorts[0]}`,
      FILES_ROOT: opts.filesRoot.replace(/\/+$/, ''),
      INTERNAL_PREFIX: opts.internalPrefix ?? DEFAULT_INTERNAL_PREFIX,
    }
    const rendered = renderTemplate(await readFile(opts.templatePath ?? TEMPLATE_PATH, 'utf8'), vars)
    const edge = opts.edgeLinks && { module: EDGE_LINK_MODULE_PATH, keysFile: opts.edgeLinks.keysFile }
    const snippet = edge ? await readFile(EDGE_LINKS_SNIPPET_PATH, 'utf8') : ''
    await writeFile(
      downloadConf,
      withEdgeLinks(rendered, snippet, edge, {
        filesRoot: vars.FILES_ROOT,
        internalPrefix: vars.INTERNAL_PREFIX,
      }),
    )
  }

  let proc: ReturnType<typeof spawnManaged> | undefined
  const stop = async () => {
    // SIGTERM is nginx's fast shutdown: the master stops its workers and exits.
    await proc?.stop('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  }

  try {
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub))
    // Workers of another user must pass through to their temp paths (nginx gives those to them).
    if (opts.workerUser !== undefined) await chmod(dir, 0o711)
    await render()
    await writeFile(confPath, mainConfig(dir, downloadConf, opts))
    // -p keeps every relative or compiled-in path (lock file aside) inside the temp dir; -e makes
    // even start-up errors land in our log instead of the system's.
    const args = ['-p', `${dir}/`, '-c', confPath, '-e', errorLogPath]
    proc = opts.cpuList
      ? spawnManaged('taskset', ['-c', opts.cpuList, binary, ...args], dir)
      : spawnManaged(binary, args, dir)
    await waitForStart(port, opts.startTimeoutMs ?? 10_000, () => proc?.hasExited() ?? true, errorLog)
  } catch (err) {
    await stop()
    throw new Error(`startNginx: ${(err as Error).message}\n${proc?.output() ?? ''}\n${errorLog()}`)
  }
  const running = proc

  return {
    port,
    baseUrl: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    pid: running.pid,
    dir,
    stop,
    errorLog,
    async reload() {
      await render()
      const before = errorLog().length
      running.child.kill('SIGHUP')
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        const log = errorLog().slice(before)
        if (/\[emerg\]|\[alert\]/.test(log)) throw new Error(`nginx refused the reload:\n${log}`)
        // The master logs this after it has read the new config and started its new workers.
        if (log.includes('reconfiguring') && log.includes('start worker process')) return
        await sleep(20)
      }
      throw new Error(`nginx did not reload within 10 s:\n${errorLog().slice(before)}`)
    },
  }
}

async function waitForStart(
  port: number,
  timeoutMs: number,
  exited: () => boolean,
  errorLog: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited()) throw new Error('nginx exited during start')
    // The log line proves that nginx itself bound the port: after a lost freePort() race the
    // port would accept connections for someone else while nginx retries and gives up.
    if (errorLog().includes('start worker process') && (await accepts(port))) return
    await sleep(20)
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
