// A checker for the nginx traps described in docs/nginx-behaviour.md, run on the download template by
// test/unit/nginx-lint.test.ts. It reads nginx's syntax (directives, blocks, quotes, comments)
// well enough for the project's own files; it is not a full nginx parser.

import { ACCEL_CACHE_CONTROL_HEADER, ACCEL_DISPOSITION_HEADER } from '../../src/delivery/accel-headers.js'
import { ACCEL_OBJECT_URL_HEADER, OBJECT_STORAGE_PREFIX } from '../../src/delivery/object-accel.js'

export interface Directive {
  name: string
  /** Arguments with quotes removed. */
  args: string[]
  line: number
  /** Children when the directive opens a block (`server { ... }`). */
  block?: Directive[]
}

export type LintCode =
  | 'parse-error'
  | 'download-server-missing'
  | 'download-location-missing'
  | 'download-not-proxied'
  | 'proxy-pass-uri'
  | 'proxy-cache'
  | 'internal-redirect'
  | 'internal-location-missing'
  | 'internal-missing'
  | 'internal-not-caret'
  | 'internal-location-slash'
  | 'alias-missing'
  | 'alias-slash'
  | 'symlinks-followed'
  | 'index-in-internal'
  | 'cork-lost'
  | 'download-headers-on-errors'
  | 'download-headers-missing'
  | 'edge-unchecked'
  | 'object-client-headers'
  | 'object-buffered-to-disk'
  | 'object-accel-obeyed'
  | 'object-headers-leak'
  | 'object-url-not-saved'
  | 'object-tls-unverified'

export interface Problem {
  code: LintCode
  message: string
  line: number
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: the template's placeholder, not JS interpolation
export const PREFIX_PLACEHOLDER = '${INTERNAL_PREFIX}'

export interface LintOptions {
  /**
   * The internal prefix as written in the text, without slashes. Default: the template's
   * placeholder, `${INTERNAL_PREFIX}`; pass `_protected` to lint a rendered config.
   */
  internalPrefix?: string
  /** The gateway's public prefix. Default `/download/`. */
  downloadPath?: string
}

export class NginxParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`)
  }
}

interface Token {
  /** `;`, `{` and `}` are their own kinds; everything else is a word (quoted or not). */
  kind: 'word' | ';' | '{' | '}'
  value: string
  line: number
}

/**
 * Splits nginx config text the way ngx_conf_read_token does: `#` starts a comment only where a
 * token could start; quotes only open at a token's start; inside a word, `{` right after `$` is
 * part of a variable (`${name}`), `\` escapes the next character, and `}` does not end it.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let line = 1
  let i = 0
  while (i < text.length) {
    const ch = text[i] as string
    if (ch === '\n') {
      line++
      i++
    } else if (/\s/.test(ch)) {
      i++
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (ch === ';' || ch === '{' || ch === '}') {
      tokens.push({ kind: ch, value: ch, line })
      i++
    } else if (ch === '"' || ch === "'") {
      const start = line
      let value = ''
      i++
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && i + 1 < text.length) i++
        if (text[i] === '\n') line++
        value += text[i]
        i++
      }
      if (i >= text.length) throw new NginxParseError('unterminated quoted string', start)
      i++
      tokens.push({ kind: 'word', value, line: start })
    } else {
      let value = ''
      while (i < text.length) {
        const c = text[i] as string
        if (c === '{' && text[i - 1] === '$') {
          value += c
          i++
          continue
        }
        if (/\s/.test(c) || c === ';' || c === '{') break
        if (c === '\\' && i + 1 < text.length) {
          value += c + text[i + 1]
          i += 2
          continue
        }
        value += c
        i++
      }
      tokens.push({ kind: 'word', value, line })
    }
  }
  return tokens
}

/** Parses config text into a directive tree; throws NginxParseError on broken structure. */
export function parseNginxConfig(text: string): Directive[] {
  const tokens = tokenize(text)
  let pos = 0
  const parseBlock = (closing: boolean, openLine: number): Directive[] => {
    const out: Directive[] = []
    let words: Token[] = []
    while (pos < tokens.length) {
      const token = tokens[pos++] as Token
      if (token.kind === 'word') {
        words.push(token)
      } else if (token.kind === ';' || token.kind === '{') {
        const [head, ...rest] = words
        if (head === undefined) throw new NginxParseError(`unexpected "${token.value}"`, token.line)
        const directive: Directive = { name: head.value, args: rest.map((w) => w.value), line: head.line }
        if (token.kind === '{') directive.block = parseBlock(true, token.line)
        out.push(directive)
        words = []
      } else {
        if (!closing) throw new NginxParseError('unexpected "}"', token.line)
        if (words.length > 0) throw new NginxParseError('directive without ";" before "}"', token.line)
        return out
      }
    }
    if (closing) throw new NginxParseError('block opened here is never closed', openLine)
    if (words.length > 0)
      throw new NginxParseError('directive without ";" at end of file', words[0]?.line ?? 0)
    return out
  }
  return parseBlock(false, 0)
}

/** Every directive below `block`, blocks included, depth first. */
function* descendants(block: Directive[]): Generator<Directive> {
  for (const d of block) {
    yield d
    if (d.block) yield* descendants(d.block)
  }
}

interface Scoped {
  directive: Directive
  /** Non-block directives of the enclosing blocks, outermost first: what the server inherits. */
  inherited: Directive[]
}

/** `server` blocks, with the plain directives of the levels around them (top level, http). */
function servers(block: Directive[], inherited: Directive[] = []): Scoped[] {
  const here = [...inherited, ...block.filter((d) => !d.block)]
  const found: Scoped[] = []
  for (const d of block) {
    if (!d.block) continue
    if (d.name === 'server') found.push({ directive: d, inherited: here })
    else if (d.name !== 'upstream' && d.name !== 'location') found.push(...servers(d.block, here))
  }
  return found
}

interface Location {
  directive: Directive
  modifier: string | undefined
  path: string
}

const MODIFIERS = new Set(['=', '~', '~*', '^~'])

function locations(server: Directive): Location[] {
  const out: Location[] = []
  for (const d of descendants(server.block ?? [])) {
    if (d.name !== 'location' || !d.block) continue
    const [first = '', second] = d.args
    if (MODIFIERS.has(first)) out.push({ directive: d, modifier: first, path: second ?? '' })
    else out.push({ directive: d, modifier: undefined, path: first })
  }
  return out
}

/** The URI part of a proxy_pass target (`http://gateway/x` -> `/x`); '' when there is none. */
export function proxyPassUri(target: string): string {
  const afterScheme = target.replace(/^[a-z]+:\/\//i, '')
  // unix:/path/to.sock:/uri has its URI after the second colon.
  if (afterScheme.startsWith('unix:')) {
    const colon = afterScheme.indexOf(':', 'unix:'.length)
    return colon < 0 ? '' : afterScheme.slice(colon + 1)
  }
  const slash = afterScheme.indexOf('/')
  return slash < 0 ? '' : afterScheme.slice(slash)
}

/**
 * The value a flag directive (`sendfile`, `tcp_nopush`) has in `loc`: its own setting, else the
 * last one of the levels around it, else nginx's default, off.
 */
function effective(name: string, around: readonly Directive[], loc: Location): string {
  const own = (loc.directive.block ?? []).filter((d) => d.name === name).at(-1)
  const outer = around.filter((d) => d.name === name).at(-1)
  return (own ?? outer)?.args[0] ?? 'off'
}

/**
 * Headers that describe the download and must never sit on an error page nginx writes for a file it
 * cannot open: the browser would save that page under the file's name, or a cache would keep it.
 */
const DOWNLOAD_ONLY_HEADERS = new Set(['content-disposition', 'content-type', 'cache-control', 'expires'])

/**
 * What the internal location must add back from the gateway's X-Download-* headers, without
 * `always`, and the variable it reads: the names the gateway really sends (accel-headers.ts).
 */
const READDED_HEADERS: ReadonlyArray<[header: string, variable: string]> = [
  ['content-disposition', upstreamVariable(ACCEL_DISPOSITION_HEADER)],
  ['cache-control', upstreamVariable(ACCEL_CACHE_CONTROL_HEADER)],
]

/** The same for the edge link files, from the variables the njs check sets (nginx/njs/edge-link.js). */
const EDGE_READDED_HEADERS: ReadonlyArray<[header: string, variable: string]> = [
  ['content-disposition', '$edge_link_disposition'],
  ['cache-control', '$edge_link_cache_control'],
]

/** The njs check's verdict (nginx/njs/edge-link.js): `ok` or the status of a refusal. */
const EDGE_VERDICT = '$edge_link_verdict'

function upstreamVariable(header: string): string {
  return `$upstream_http_${header.toLowerCase().replace(/-/g, '_')}`
}

// Each of these is an internal redirect, and `internal` lets internal redirects in
// (docs/nginx-behaviour.md §4).
const REDIRECTING = new Set(['rewrite', 'try_files', 'error_page'])

/**
 * Reports the misconfigurations that would let a client reach the protected files without the
 * gateway, or the gateway see something other than the raw request. An empty list means clean.
 */
export function lintNginxConfig(text: string, opts: LintOptions = {}): Problem[] {
  const internalPrefix = opts.internalPrefix ?? PREFIX_PLACEHOLDER
  const downloadPath = opts.downloadPath ?? '/download/'
  let tree: Directive[]
  try {
    tree = parseNginxConfig(text)
  } catch (err) {
    const line = err instanceof NginxParseError ? err.line : 0
    return [{ code: 'parse-error', message: (err as Error).message, line }]
  }

  const problems: Problem[] = []
  const report = (code: LintCode, line: number, message: string) => problems.push({ code, message, line })

  const isInternalPath = (path: string) => path.replace(/^\//, '').startsWith(internalPrefix)
  const isInternal = (loc: Location) =>
    isInternalPath(loc.path) || (loc.directive.block ?? []).some((d) => d.name === 'internal')

  const downloadServers = servers(tree).filter(({ directive }) =>
    locations(directive).some((loc) => loc.path === downloadPath || isInternal(loc)),
  )
  if (downloadServers.length === 0) {
    report('download-server-missing', 1, `no server block with a ${downloadPath} or internal location`)
  }

  for (const { directive: server, inherited } of downloadServers) {
    const scope = [...inherited, ...descendants(server.block ?? [])]

    const locs = locations(server)
    const allowedErrorPages = objectStorageErrorPages(locs)
    for (const d of scope) {
      if (REDIRECTING.has(d.name) && !allowedErrorPages.has(d)) {
        report(
          'internal-redirect',
          d.line,
          `"${d.name}" in the download server: internal redirects pass "internal" and can reach the files without the gateway`,
        )
      }
      if (d.name === 'proxy_cache' && d.args[0] !== 'off') {
        report(
          'proxy-cache',
          d.line,
          'proxy_cache would replay a cached X-Accel-Redirect without asking the gateway',
        )
      }
    }

    const download = locs.find((loc) => loc.path === downloadPath && loc.modifier !== '=')
    if (download === undefined) {
      report('download-location-missing', server.line, `no "location ${downloadPath}" in the download server`)
    } else {
      const proxyPass = (download.directive.block ?? []).find((d) => d.name === 'proxy_pass')
      if (proxyPass === undefined) {
        report(
          'download-not-proxied',
          download.directive.line,
          `${downloadPath} has no proxy_pass to the gateway`,
        )
      } else if (proxyPassUri(proxyPass.args[0] ?? '') !== '') {
        report(
          'proxy-pass-uri',
          proxyPass.line,
          `proxy_pass for ${downloadPath} has a URI part: the gateway would get a normalised URI, not the raw one`,
        )
      }
    }

    // Not a hole, a slow path: nginx stops corking a connection (TCP_NOPUSH) in the first location
    // that has tcp_nopush off, and the X-Accel-Redirect cannot turn it back on. Measured at about
    // 0.6x a static location for 1 MiB files (issue 5).
    const serverPlain = (server.block ?? []).filter((d) => !d.block)
    if (
      download !== undefined &&
      effective('tcp_nopush', [...inherited, ...serverPlain], download) !== 'on'
    ) {
      report(
        'cork-lost',
        download.directive.line,
        `tcp_nopush is off for ${downloadPath}: files after the X-Accel-Redirect are sent uncorked`,
      )
    }

    const internals = locs.filter((loc) => isInternal(loc) || isObjectStorage(loc))
    const fileInternals = internals.filter((loc) => !isObjectStorage(loc))
    if (fileInternals.length === 0) {
      report('internal-location-missing', server.line, `no location for /${internalPrefix}/`)
    }
    // A public location that sends files itself (the edge links, nginx/edge-links.conf) must
    // refuse every request whose link the njs check did not pass, and then is held to the same
    // rules as an internal location.
    const edges = locs.filter(
      (loc) => !internals.includes(loc) && (loc.directive.block ?? []).some((d) => d.name === 'alias'),
    )
    for (const loc of edges) {
      const guarded = (loc.directive.block ?? []).some(
        (d) =>
          d.name === 'if' &&
          d.args.join(' ') === `(${EDGE_VERDICT} != ok)` &&
          (d.block ?? []).some((inner) => inner.name === 'return'),
      )
      if (!guarded) {
        report(
          'edge-unchecked',
          loc.directive.line,
          `location ${loc.path} sends files to anyone: it must "return" unless ${EDGE_VERDICT} is ok`,
        )
      }
    }
    for (const loc of [...internals, ...edges]) {
      if (isObjectStorage(loc)) continue
      const { directive } = loc
      const body = directive.block ?? []
      const inside = [...descendants(body)]
      const edge = edges.includes(loc)
      if (!edge && !body.some((d) => d.name === 'internal')) {
        report(
          'internal-missing',
          directive.line,
          `location ${loc.path} lacks "internal": anyone can fetch the files`,
        )
      }
      if (loc.modifier !== '^~') {
        report(
          'internal-not-caret',
          directive.line,
          `location ${loc.path} must use "^~" so no regex location can take its URIs`,
        )
      }
      if (!loc.path.endsWith('/')) {
        report(
          'internal-location-slash',
          directive.line,
          `location ${loc.path} must end in "/" (off-by-slash)`,
        )
      }
      const alias = body.find((d) => d.name === 'alias')
      if (alias === undefined) {
        report('alias-missing', directive.line, `location ${loc.path} has no alias to the files root`)
      } else if (!(alias.args[0] ?? '').endsWith('/')) {
        report('alias-slash', alias.line, 'the alias must end in "/" (off-by-slash)')
      }
      const symlinks = body.find((d) => d.name === 'disable_symlinks')
      if (symlinks === undefined || symlinks.args[0] !== 'on') {
        report(
          'symlinks-followed',
          symlinks?.line ?? directive.line,
          'internal location needs "disable_symlinks on": symlinks are followed out of the tree by default',
        )
      }
      if (effective('sendfile', [...inherited, ...serverPlain], loc) !== 'on') {
        report(
          'cork-lost',
          directive.line,
          `sendfile is off in location ${loc.path}: nginx would copy every file`,
        )
      }
      const addHeaders = inside.filter((d) => d.name === 'add_header')
      for (const d of addHeaders) {
        const header = (d.args[0] ?? '').toLowerCase()
        if (DOWNLOAD_ONLY_HEADERS.has(header) && d.args.length > 2 && d.args.at(-1) === 'always') {
          report(
            'download-headers-on-errors',
            d.line,
            `"add_header ${d.args[0]} ... always" puts a download's header on nginx's error pages (missing or unreadable file)`,
          )
        }
      }
      for (const [header, variable] of edge ? EDGE_READDED_HEADERS : READDED_HEADERS) {
        const readded = addHeaders.some(
          (d) => (d.args[0] ?? '').toLowerCase() === header && d.args[1] === variable,
        )
        if (!readded) {
          report(
            'download-headers-missing',
            directive.line,
            `location ${loc.path} must "add_header ${header} ${variable}" (without always): the gateway sends it under that name`,
          )
        }
      }
      for (const d of inside) {
        if (
          d.name === 'index' ||
          ((d.name === 'autoindex' || d.name === 'random_index') && d.args[0] === 'on')
        ) {
          report(
            'index-in-internal',
            d.line,
            `"${d.name}" in the internal location turns a directory into content`,
          )
        }
      }
    }
    for (const loc of internals.filter(isObjectStorage)) lintObjectStorage(loc, report)
  }
  return problems.sort((a, b) => a.line - b.line)
}

/**
 * The bucket location (delivery.roots): internal, proxying to the presigned URL the gateway put in
 * its reply, and nothing of the client's, the bucket's or the disk's crossing where it must not
 * (docs/object-storage.md).
 */
function isObjectStorage(loc: Location): boolean {
  const body = loc.directive.block ?? []
  return (
    loc.path.replace(/^\//, '').startsWith(`${OBJECT_STORAGE_PREFIX}/`) ||
    (body.some((d) => d.name === 'internal') && body.some((d) => d.name === 'proxy_pass'))
  )
}

/** error_page lines of bucket locations whose target is a named location that only returns. */
function objectStorageErrorPages(locs: readonly Location[]): Set<Directive> {
  const returnsOnly = new Set(
    locs
      .filter((loc) => loc.path.startsWith('@'))
      .filter((loc) => {
        const body = loc.directive.block ?? []
        return (
          body.some((d) => d.name === 'return') &&
          body.every((d) => d.name === 'return' || d.name === 'add_header')
        )
      })
      .map((loc) => loc.path),
  )
  const allowed = new Set<Directive>()
  for (const loc of locs.filter(isObjectStorage)) {
    for (const d of loc.directive.block ?? []) {
      if (d.name === 'error_page' && returnsOnly.has(d.args.at(-1) ?? '')) allowed.add(d)
    }
  }
  return allowed
}

/** The trap headers a bucket sends that the client must never get from it. */
const BUCKET_HEADERS_HIDDEN = [
  'set-cookie',
  'content-disposition',
  'cache-control',
  'x-amz-request-id',
  'x-amz-id-2',
]

function lintObjectStorage(
  loc: Location,
  report: (code: LintCode, line: number, message: string) => void,
): void {
  const { directive } = loc
  const body = directive.block ?? []
  const where = `location ${loc.path}`
  const one = (name: string) => body.filter((d) => d.name === name).at(-1)
  const all = (name: string) => body.filter((d) => d.name === name)
  if (!body.some((d) => d.name === 'internal'))
    report(
      'internal-missing',
      directive.line,
      `${where} lacks "internal": anyone could have nginx fetch from the bucket`,
    )
  if (loc.modifier !== '^~')
    report(
      'internal-not-caret',
      directive.line,
      `${where} must use "^~" so no regex location can take its URIs`,
    )
  if (!loc.path.endsWith('/')) report('internal-location-slash', directive.line, `${where} must end in "/"`)
  if (
    one('proxy_pass_request_headers')?.args[0] !== 'off' ||
    one('proxy_pass_request_body')?.args[0] !== 'off'
  )
    report(
      'object-client-headers',
      directive.line,
      `${where} must set proxy_pass_request_headers off and proxy_pass_request_body off: the client's cookies would go to the bucket`,
    )
  if (one('proxy_buffering')?.args[0] !== 'off' && one('proxy_max_temp_file_size')?.args[0] !== '0')
    report(
      'object-buffered-to-disk',
      directive.line,
      `${where} needs proxy_buffering off or proxy_max_temp_file_size 0: nginx would spool objects to disk`,
    )
  const ignored = all('proxy_ignore_headers').flatMap((d) => d.args.map((a) => a.toLowerCase()))
  if (!ignored.includes('x-accel-redirect'))
    report(
      'object-accel-obeyed',
      directive.line,
      `${where} must proxy_ignore_headers X-Accel-Redirect: the bucket's reply could redirect to the files on disk`,
    )
  const hidden = new Set(all('proxy_hide_header').map((d) => (d.args[0] ?? '').toLowerCase()))
  for (const header of BUCKET_HEADERS_HIDDEN) {
    if (!hidden.has(header))
      report(
        'object-headers-leak',
        directive.line,
        `${where} must proxy_hide_header ${header}: the bucket's own would reach the client`,
      )
  }
  // Variables copied from the gateway's reply before proxying; $upstream_http_* read later name the
  // bucket's headers (docs/nginx-behaviour.md §9).
  const savedFrom = new Map(all('set').map((d) => [d.args[0] ?? '', d.args[1] ?? '']))
  const proxyPass = one('proxy_pass')
  if (
    proxyPass === undefined ||
    savedFrom.get(proxyPass.args[0] ?? '') !== upstreamVariable(ACCEL_OBJECT_URL_HEADER)
  )
    report(
      'object-url-not-saved',
      proxyPass?.line ?? directive.line,
      `${where} must proxy_pass a variable set from ${upstreamVariable(ACCEL_OBJECT_URL_HEADER)}`,
    )
  if (one('proxy_ssl_verify')?.args[0] !== 'on' || one('proxy_ssl_server_name')?.args[0] !== 'on')
    report(
      'object-tls-unverified',
      directive.line,
      `${where} must verify the bucket's certificate (proxy_ssl_verify on, proxy_ssl_server_name on)`,
    )
  const addHeaders = all('add_header')
  for (const d of addHeaders) {
    const header = (d.args[0] ?? '').toLowerCase()
    if (DOWNLOAD_ONLY_HEADERS.has(header) && d.args.length > 2 && d.args.at(-1) === 'always')
      report(
        'download-headers-on-errors',
        d.line,
        `"add_header ${d.args[0]} ... always" puts a download's header on error pages`,
      )
  }
  for (const [header, variable] of READDED_HEADERS) {
    const readded = addHeaders.some(
      (d) => (d.args[0] ?? '').toLowerCase() === header && savedFrom.get(d.args[1] ?? '') === variable,
    )
    if (!readded)
      report(
        'download-headers-missing',
        directive.line,
        `${where} must "add_header ${header} $v" (without always) with $v set from ${variable} before proxying`,
      )
  }
}
