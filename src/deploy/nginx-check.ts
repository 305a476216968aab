// `nginx -t` on a rendered download server, without touching the machine's nginx: a temp prefix
// holds a minimal main config that includes the rendered file, its pid, logs and temp paths. It
// proves what nginx itself says of the file (syntax, directives, certificates it can load); it
// does not see the host's own nginx.conf, so run `nginx -t` there too once the file is installed.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

const WELL_KNOWN = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']
const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const

/** The nginx binary on PATH or in the usual places; undefined when there is none. */
export function findNginxBinary(path = process.env.PATH ?? ''): string | undefined {
  const candidates = [
    ...path
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'nginx')),
    ...WELL_KNOWN,
  ]
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * Where packages put njs (ngx_http_js_module): Debian's libnginx-mod-http-js, nginx.org's
 * nginx-module-njs and the official image, a build from source.
 */
const NJS_MODULE_PLACES = [
  '/usr/lib/nginx/modules/ngx_http_js_module.so',
  '/usr/share/nginx/modules/ngx_http_js_module.so',
  '/etc/nginx/modules/ngx_http_js_module.so',
  '/usr/lib64/nginx/modules/ngx_http_js_module.so',
  '/usr/local/nginx/modules/ngx_http_js_module.so',
]

/** The njs module's file, undefined when none of the usual places has it. */
export function findNjsModule(): string | undefined {
  return NJS_MODULE_PLACES.find((file) => existsSync(file))
}

export interface NginxCheck {
  readonly ok: boolean
  /** nginx's version (`1.22.1`), when it says. */
  readonly version: string | undefined
  /** What nginx printed (it writes the verdict to standard error), trimmed. */
  readonly output: string
}

/**
 * Runs `<binary> -t` on `rendered` included from the http block of a minimal main config, as the
 * template expects. `mimeTypes` is included when it exists, as a host's nginx.conf would.
 */
export function checkWithNginx(
  binary: string,
  rendered: string,
  mimeTypes = '/etc/nginx/mime.types',
  modules: readonly string[] = [],
): NginxCheck {
  const dir = mkdtempSync(join(tmpdir(), 'download-gateway-nginx-t-'))
  try {
    for (const sub of TEMP_PATHS) mkdirSync(join(dir, sub))
    const site = join(dir, 'download-gateway.conf')
    writeFileSync(site, rendered)
    const main = [
      ...modules.map((file) => `load_module ${file};`),
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events {',
      '}',
      'http {',
      ...(existsSync(mimeTypes) ? [`    include ${mimeTypes};`] : []),
      ...TEMP_PATHS.map((sub) => `    ${sub}_temp_path ${dir}/${sub};`),
      `    include ${site};`,
      '}',
      '',
    ]
    // As root, nginx would hand its (never started) workers to its built-in user, which may not
    // exist here; the check is about the download server, not about that user.
    if (process.getuid?.() === 0) main.unshift('user root;')
    const conf = join(dir, 'nginx.conf')
    writeFileSync(conf, main.join('\n'))
    const version = nginxVersion(binary)
    // -e (1.19.5 and later) keeps even start-up messages out of the machine's error log.
    const errorLogFlag = version && atLeast(version, [1, 19, 5]) ? ['-e', join(dir, 'error.log')] : []
    const run = spawnSync(binary, ['-t', '-p', `${dir}/`, '-c', conf, ...errorLogFlag], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    if (run.error) return { ok: false, version, output: `${binary}: ${run.error.message}` }
    const output = `${run.stdout}${run.stderr}`.trim().replaceAll(dir, '<temp>')
    return { ok: run.status === 0, version, output }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `1.22.1` from `nginx -v`, which prints `nginx version: nginx/1.22.1` to standard error. */
export function nginxVersion(binary: string): string | undefined {
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 })
  return /nginx\/(\d+\.\d+\.\d+)/.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`)?.[1]
}

/** Whether dotted `version` is `minimum` or later. */
export function atLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map(Number)
  for (let i = 0; i < minimum.length; i++) {
    const have = parts[i] ?? 0
    const want = minimum[i] as number
    if (have !== want) return have > want
  }
  return true
}
