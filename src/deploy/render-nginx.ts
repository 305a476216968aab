// Renders the download server template for a host install. nginx's own variables are written
// `$host` in the template and only our placeholders `${NAME}`: plain envsubst replaces every
// `$word` it knows and blanks the rest, and nginx then refuses the result. Values are checked before
// they go in: each lands inside an nginx directive, where a `;`, a brace or a `$` would end it, open
// a block or read a variable.
import { type TlsFiles, tlsRedirectServer, tlsServerDirectives } from './nginx-tls.js'

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The line in the template's server block where the TLS directives go. */
export const TLS_MARKER = '# download-gateway: TLS directives go here'
/** The line in the template's server block where the edge link locations go. */
export const EDGE_LINKS_MARKER = '# download-gateway: edge links go here'

/** Where nginx finds the edge link check and its keys (nginx/edge-links.conf). */
export interface EdgeLinksSite {
  /** The njs module: the project's nginx/njs/edge-link.js, or a copy of it. */
  readonly module: string
  /** The key file, JSON (docs/links-and-tokens.md#edge-links). */
  readonly keysFile: string
}

/**
 * `rendered` (the template, its placeholders filled) with the edge link locations in place of
 * the marker line, rendered from `snippet` (nginx/edge-links.conf); without `edge`, as it is.
 */
export function withEdgeLinks(
  rendered: string,
  snippet: string,
  edge: EdgeLinksSite | undefined,
  vars: { readonly filesRoot: string; readonly internalPrefix: string },
): string {
  if (edge === undefined) return rendered
  const markers = rendered.split('\n').filter((line) => line.trim() === EDGE_LINKS_MARKER)
  if (markers.length !== 1)
    throw new Error(
      `the template must hold the line '${EDGE_LINKS_MARKER}' exactly once (found ${markers.length})`,
    )
  const block = renderTemplate(snippet, {
    EDGE_LINK_MODULE: edge.module,
    EDGE_LINK_KEYS_FILE: edge.keysFile,
    FILES_ROOT: vars.filesRoot.replace(/\/+$/, ''),
    INTERNAL_PREFIX: vars.internalPrefix,
  })
  return rendered.replace(/^[ \t]*# download-gateway: edge links go here\n/m, () => block)
}

/**
 * Replaces every `${NAME}` in `template` with `vars[NAME]`, and throws if one has no value: an
 * unfilled placeholder would otherwise reach nginx as a literal string or an undefined-variable
 * error far from its cause.
 */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  const missing = new Set<string>()
  const out = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = vars[name]
    if (value === undefined) {
      missing.add(name)
      return whole
    }
    return value
  })
  if (missing.size > 0) {
    throw new Error(`renderTemplate: no value for ${[...missing].map((n) => `\${${n}}`).join(', ')}`)
  }
  return out
}

/** The `${NAME}` placeholders a template uses, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))]
}

export interface NginxSite {
  /** `listen` parameters: `80`, `127.0.0.1:8080`, `443 ssl`. */
  readonly listen: string
  /** `server_name` parameters: one or more host names. */
  readonly serverName: string
  /**
   * One entry per gateway, each the parameters of an upstream `server`: `127.0.0.1:3000`,
   * `unix:/run/gw.sock`, `10.0.0.7:3000 max_fails=2`, `gateway:3000 resolve`.
   */
  readonly gateways: readonly string[]
  /** The folder nginx serves under the internal prefix: the gateway's delivery.files_root. */
  readonly filesRoot: string
  /** The gateway's delivery.internal_prefix, without slashes. */
  readonly internalPrefix: string
  readonly tls?: TlsFiles
  /** Edge links on: where the check and its keys are. */
  readonly edgeLinks?: EdgeLinksSite
}

// Words of a directive's parameters: nothing that ends a directive (;), opens or closes a block,
// starts a comment or a variable, quotes or escapes.
const WORD = /^[A-Za-z0-9._:/[\]=*@%+,-]+$/
const HOST_NAME = /^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?\.?$|^_$/
const INTERNAL_PREFIX = /^[A-Za-z0-9_-]+$/

function words(value: string): string[] {
  return value.trim().split(/ +/)
}

function absolutePath(field: string, value: string, problems: string[]): void {
  if (!value.startsWith('/')) problems.push(`${field} must be an absolute path: '${value}'`)
  else if (!WORD.test(value))
    problems.push(`${field} must be a path without spaces, quotes, ';', '{', '}', '$' or '#': '${value}'`)
}

/** Every problem with `site`, as one sentence each; empty when it can be rendered. */
export function siteProblems(site: NginxSite): string[] {
  const problems: string[] = []
  const wordsOf = (field: string, value: string) => {
    if (value.trim() === '') problems.push(`${field} is empty`)
    else if (!words(value).every((w) => WORD.test(w))) {
      problems.push(
        `${field} may hold only addresses and parameters, no quotes, ';', '{', '}', '$' or '#': '${value}'`,
      )
    }
  }
  wordsOf('--listen', site.listen)
  if (site.gateways.length === 0) problems.push('give at least one --gateway')
  const seen = new Set<string>()
  for (const gateway of site.gateways) {
    wordsOf('--gateway', gateway)
    const address = words(gateway)[0] as string
    if (seen.has(address)) problems.push(`--gateway ${address} is given twice`)
    seen.add(address)
  }
  if (site.serverName.trim() === '') problems.push('--server-name is empty')
  else {
    for (const name of words(site.serverName)) {
      if (!HOST_NAME.test(name)) problems.push(`--server-name: '${name}' is not a host name`)
    }
  }
  absolutePath('--files-root', site.filesRoot, problems)
  if (site.filesRoot.replace(/\/+$/, '') === '' && site.filesRoot.startsWith('/')) {
    problems.push('--files-root must not be / itself')
  }
  if (!INTERNAL_PREFIX.test(site.internalPrefix)) {
    problems.push(`--internal-prefix may hold only letters, digits, '_' and '-': '${site.internalPrefix}'`)
  }
  if (site.edgeLinks) {
    absolutePath('--edge-links-keys', site.edgeLinks.keysFile, problems)
    absolutePath('--edge-links-module', site.edgeLinks.module, problems)
  }
  if (site.tls) {
    absolutePath('--tls-cert', site.tls.cert, problems)
    absolutePath('--tls-key', site.tls.key, problems)
    if (!words(site.listen).includes('ssl'))
      problems.push(`--listen needs the ssl parameter with TLS: '${site.listen}'`)
    if (site.tls.redirectListen !== null) wordsOf('--redirect-listen', site.tls.redirectListen)
  }
  return problems
}

/**
 * The upstream block's `server` directives, one line each; the template's line gives the first its
 * indent, the others copy it.
 */
export function upstreamServers(gateways: readonly string[]): string {
  return gateways.map((g) => `server ${words(g).join(' ')};`).join('\n    ')
}

/**
 * The template rendered for `site`; throws with every problem when siteProblems finds any.
 * `edgeSnippet` is nginx/edge-links.conf, needed when the site has edge links.
 */
export function renderNginxSite(template: string, site: NginxSite, edgeSnippet = ''): string {
  const problems = siteProblems(site)
  if (problems.length > 0) throw new Error(problems.join('\n'))
  const serverName = words(site.serverName).join(' ')
  let out = renderTemplate(template, {
    DOWNLOAD_LISTEN: words(site.listen).join(' '),
    DOWNLOAD_SERVER_NAME: serverName,
    GATEWAY_SERVERS: upstreamServers(site.gateways),
    FILES_ROOT: site.filesRoot.replace(/\/+$/, ''),
    INTERNAL_PREFIX: site.internalPrefix,
  })
  out = withEdgeLinks(out, edgeSnippet, site.edgeLinks, site)
  const markers = out.split('\n').filter((line) => line.trim() === TLS_MARKER)
  if (markers.length !== 1) {
    throw new Error(`the template must hold the line '${TLS_MARKER}' exactly once (found ${markers.length})`)
  }
  const tls = site.tls
  out = out.replace(/^([ \t]*)# download-gateway: TLS directives go here\n/m, (_, indent: string) =>
    tls
      ? `${tlsServerDirectives(tls)
          .map((line) => (line === '' ? '' : `${indent}${line}`))
          .join('\n')}\n`
      : '',
  )
  if (tls?.redirectListen) out += `\n${tlsRedirectServer(words(tls.redirectListen).join(' '), serverName)}`
  return out
}
