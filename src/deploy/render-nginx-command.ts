// `download-gateway render-nginx`: prints the download server for a host's nginx, rendered from the
// project's template, and checks it with `nginx -t` where nginx is installed. The values nginx and
// the gateway must agree on (files root, internal prefix, where the gateway listens) can come from
// the gateway's own config, so the two cannot drift apart.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { loadConfig } from '../config/load-config.js'
import { ConfigError } from '../config/problems.js'
import { checkWithNginx, findNginxBinary, findNjsModule } from './nginx-check.js'
import { type NginxSite, renderNginxSite } from './render-nginx.js'

export interface RenderIo {
  out(line: string): void
  err(line: string): void
}

export const EXIT_RENDERED = 0
export const EXIT_REFUSED_BY_NGINX = 1
export const EXIT_USAGE = 2

/** The route the template proxies to the gateway: a config with another one needs another template. */
const TEMPLATE_ROUTE = '/download/'
const TEMPLATE = 'nginx/templates/download.conf.template'
const EDGE_SNIPPET = 'nginx/edge-links.conf'
const EDGE_MODULE = 'nginx/njs/edge-link.js'

export const RENDER_NGINX_USAGE = `usage:
  download-gateway render-nginx --server-name <names> [--config <gateway.yaml>]
      [--files-root <dir>] [--internal-prefix <name>] [--gateway <address> ...] [--listen <address>]
      [--tls-cert <file> --tls-key <file> [--redirect-listen <address> | --no-redirect]]
      [--edge-links-keys <file> [--edge-links-module <file>]]
      [--template <file>] [--nginx <binary> | --no-check]
  Prints the nginx download server rendered from ${TEMPLATE} (only its own
  placeholders are replaced; nginx's variables stay) and checks it with nginx -t where nginx is
  installed. --config takes the files root, the internal prefix and the gateway's address from the
  gateway's config; flags given override it. --gateway once per gateway (an address and nginx
  server parameters, e.g. '10.0.0.7:3000 max_fails=2'; --upstream is its older name); nginx
  retries a download on the next one when a gateway cannot be reached. Defaults: --internal-prefix
  _protected, --gateway 127.0.0.1:3000, --listen 80, or 443 ssl with --tls-cert, which also adds a
  server on --redirect-listen (default 80) that redirects plain HTTP to HTTPS.
  --edge-links-keys turns edge links on: nginx checks them itself with njs (the module must be
  loaded in nginx.conf: load_module modules/ngx_http_js_module.so), with the keys in that JSON
  file; --edge-links-module is the check's njs file (default: ${EDGE_MODULE} beside the template).
  Exit 0 rendered (and valid, or not checked), 1 refused by nginx -t, 2 usage or config error.`

const OPTIONS = {
  'server-name': { type: 'string' },
  config: { type: 'string' },
  'files-root': { type: 'string' },
  'internal-prefix': { type: 'string' },
  gateway: { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  listen: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'redirect-listen': { type: 'string' },
  'edge-links-keys': { type: 'string' },
  'edge-links-module': { type: 'string' },
  'no-redirect': { type: 'boolean' },
  template: { type: 'string' },
  nginx: { type: 'string' },
  'no-check': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof OPTIONS)[K]['type'] extends 'boolean'
      ? boolean
      : string
}

export interface RenderNginxRequest {
  readonly site: NginxSite
  readonly templatePath: string
  /** undefined: look for nginx; null: do not check. */
  readonly nginx: string | null | undefined
}

type Parsed =
  | { ok: true; help: true }
  | { ok: true; help?: false; request: RenderNginxRequest }
  | { ok: false; message: string }

/** What the gateway's config says nginx must agree with. */
interface FromConfig {
  filesRoot: string
  internalPrefix: string
  upstream: string
}

/** argv after `render-nginx`. `readConfig` loads the gateway config a --config names. */
export function parseRenderNginxArgs(
  argv: readonly string[],
  readConfig: (file: string) => FromConfig = gatewayFacts,
  templatePath = defaultTemplatePath(),
): Parsed {
  let values: Values
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true })
    values = parsed.values as Values
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
  if (values.help) return { ok: true, help: true }
  const serverName = values['server-name']
  if (serverName === undefined) return { ok: false, message: '--server-name is required' }
  const cert = values['tls-cert']
  const key = values['tls-key']
  if ((cert === undefined) !== (key === undefined)) {
    return { ok: false, message: '--tls-cert and --tls-key go together' }
  }
  const tls = cert !== undefined && key !== undefined
  if (!tls && (values['redirect-listen'] !== undefined || values['no-redirect'])) {
    return { ok: false, message: '--redirect-listen and --no-redirect go with --tls-cert' }
  }
  if (values['redirect-listen'] !== undefined && values['no-redirect']) {
    return { ok: false, message: 'give --redirect-listen or --no-redirect, not both' }
  }
  if (values.nginx !== undefined && values['no-check']) {
    return { ok: false, message: 'give --nginx or --no-check, not both' }
  }
  let fromConfig: FromConfig | undefined
  if (values.config !== undefined) {
    try {
      fromConfig = readConfig(values.config)
    } catch (err) {
      return { ok: false, message: (err as Error).message }
    }
  }
  const filesRoot = values['files-root'] ?? fromConfig?.filesRoot
  if (filesRoot === undefined) return { ok: false, message: 'give --files-root, or --config to read it from' }
  const edgeKeys = values['edge-links-keys']
  if (edgeKeys === undefined && values['edge-links-module'] !== undefined)
    return { ok: false, message: '--edge-links-module goes with --edge-links-keys' }
  let listen = values.listen ?? (tls ? '443 ssl' : '80')
  // `--listen 443` with a certificate can only mean TLS on 443.
  if (tls && !listen.trim().split(/ +/).includes('ssl')) listen = `${listen.trim()} ssl`
  const gateways = [...(values.gateway ?? []), ...(values.upstream ?? [])]
  const site: NginxSite = {
    listen,
    serverName,
    gateways: gateways.length > 0 ? gateways : [fromConfig?.upstream ?? '127.0.0.1:3000'],
    filesRoot,
    internalPrefix: values['internal-prefix'] ?? fromConfig?.internalPrefix ?? '_protected',
    ...(edgeKeys === undefined
      ? {}
      : {
          edgeLinks: {
            keysFile: edgeKeys,
            module: values['edge-links-module'] ?? packageFile(EDGE_MODULE),
          },
        }),
    ...(tls
      ? {
          tls: {
            cert: cert as string,
            key: key as string,
            redirectListen: values['no-redirect'] ? null : (values['redirect-listen'] ?? '80'),
          },
        }
      : {}),
  }
  return {
    ok: true,
    request: {
      site,
      templatePath: values.template ?? templatePath,
      nginx: values['no-check'] ? null : values.nginx,
    },
  }
}

/** Runs the command; returns the exit code. */
export function renderNginxCommand(
  argv: readonly string[],
  io: RenderIo,
  readConfig?: (file: string) => FromConfig,
): number {
  const parsed = parseRenderNginxArgs(argv, readConfig)
  if (!parsed.ok) {
    io.err(`error: ${parsed.message}`)
    io.err(RENDER_NGINX_USAGE)
    return EXIT_USAGE
  }
  if (parsed.help) {
    io.out(RENDER_NGINX_USAGE)
    return EXIT_RENDERED
  }
  const { site, templatePath, nginx } = parsed.request
  let rendered: string
  try {
    const snippet = site.edgeLinks ? readFileSync(packageFile(EDGE_SNIPPET), 'utf8') : ''
    rendered = renderNginxSite(readFileSync(templatePath, 'utf8'), site, snippet)
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) io.err(`error: ${line}`)
    return EXIT_USAGE
  }
  io.out(rendered.replace(/\n$/, ''))
  if (nginx === null) return EXIT_RENDERED
  const binary = nginx ?? findNginxBinary()
  if (binary === undefined) {
    io.err('note: nginx is not installed here, so the result was not checked: run nginx -t where it is')
    return EXIT_RENDERED
  }
  const njs = site.edgeLinks ? findNjsModule() : undefined
  if (site.edgeLinks && njs === undefined) {
    io.err('note: edge links need the njs module, which is not installed here, so the result was not checked')
    return EXIT_RENDERED
  }
  const check = checkWithNginx(binary, rendered, undefined, njs ? [njs] : [])
  const who = check.version ? `nginx ${check.version}` : binary
  if (check.ok) {
    io.err(`ok: ${who} accepts this configuration (nginx -t, in a minimal main config)`)
    return EXIT_RENDERED
  }
  io.err(`error: ${who} refuses this configuration:`)
  for (const line of check.output.split('\n')) io.err(`  ${line}`)
  return EXIT_REFUSED_BY_NGINX
}

/** Where the gateway in `file` expects nginx to find it and the files. */
function gatewayFacts(file: string): FromConfig {
  let config: ReturnType<typeof loadConfig>
  try {
    // Secrets play no part here; a placeholder keeps a Redis config from failing on them.
    config = loadConfig({ GATEWAY_CONFIG: file, GATEWAY_SESSION_SECRETS: 'x'.repeat(32) })
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(err.message)
    throw err
  }
  if (config.delivery.mode !== 'x-accel') {
    throw new Error(
      `${file}: delivery.mode is ${config.delivery.mode}; nginx delivers files only in x-accel mode`,
    )
  }
  if (config.delivery.routePrefix !== TEMPLATE_ROUTE) {
    throw new Error(
      `${file}: delivery.route_prefix is ${config.delivery.routePrefix}; the nginx template proxies ${TEMPLATE_ROUTE}`,
    )
  }
  return {
    filesRoot: config.delivery.filesRoot,
    internalPrefix: config.delivery.internalPrefix,
    upstream: upstreamAddress(config.server.host, config.server.port),
  }
}

/** The address nginx dials for a gateway listening on host:port (any-address means this machine). */
export function upstreamAddress(host: string, port: number): string {
  if (host === '0.0.0.0') return `127.0.0.1:${port}`
  if (host === '::' || host === '[::]') return `[::1]:${port}`
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]:${port}`
  return `${host}:${port}`
}

/** The template beside this package: found upward from this file, in src/ and in dist/src/ alike. */
function defaultTemplatePath(): string {
  return packageFile(TEMPLATE)
}

/** A file of this package (`nginx/...`), found upward from this file. */
function packageFile(rel: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, rel)
    if (dirname(dir) === dir) return rel
  }
}
