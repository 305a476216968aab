// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings hold the template's envsubst placeholders
import { readFileSync } from 'node:fs'
import t from 'tap'
import { renderTemplate, TEMPLATE_PATH, templateVariables } from '../harness/nginx.js'
import { type LintCode, lintNginxConfig, parseNginxConfig, proxyPassUri } from '../harness/nginx-lint.js'

const template = readFileSync(TEMPLATE_PATH, 'utf8')

/** `template` with `from` replaced by `to`; fails loudly if the anchor is gone, so a variant can never silently equal the original. */
function edit(from: string | RegExp, to: string, text = template): string {
  const out = text.replace(from, to)
  if (out === text) throw new Error(`variant anchor not found in the template: ${String(from)}`)
  return out
}

/** Inserts `lines` right after the line that contains `anchor`. */
function insertAfter(anchor: string, lines: string, text = template): string {
  const at = text.indexOf(anchor)
  if (at < 0) throw new Error(`variant anchor not found in the template: ${anchor}`)
  const eol = text.indexOf('\n', at)
  return `${text.slice(0, eol + 1)}${lines}\n${text.slice(eol + 1)}`
}

/** `template` with `from` replaced by `to` inside the bucket location (and what follows it). */
function editObject(from: string | RegExp, to: string): string {
  const at = template.indexOf(OBJECT_OPEN)
  if (at < 0) throw new Error('the template has no bucket location')
  return template.slice(0, at) + edit(from, to, template.slice(at))
}

const OBJECT_OPEN = 'location ^~ /_s3/ {'
const INTERNAL_OPEN = 'location ^~ /${INTERNAL_PREFIX}/ {'
const DOWNLOAD_OPEN = 'location /download/ {'
const SERVER_OPEN = 'server_tokens off;'

t.test('lintNginxConfig passes the project template', async (t) => {
  t.same(lintNginxConfig(template), [])
})

t.test('lintNginxConfig passes the template as the harness renders it', async (t) => {
  const vars = {
    DOWNLOAD_LISTEN: '127.0.0.1:8080',
    DOWNLOAD_SERVER_NAME: 'download.example.test',
    GATEWAY_SERVERS: 'server 127.0.0.1:3000;',
    FILES_ROOT: '/srv/files',
    INTERNAL_PREFIX: '_protected',
  }
  t.same(
    templateVariables(template).sort(),
    Object.keys(vars).sort(),
    'the template uses exactly these placeholders',
  )
  t.same(lintNginxConfig(renderTemplate(template, vars), { internalPrefix: '_protected' }), [])
})

// Each variant is the real template with one trap put back in, and the code it must raise.
const variants: Array<[title: string, text: () => string, code: LintCode]> = [
  [
    'internal location without ^~',
    () => edit(INTERNAL_OPEN, 'location /${INTERNAL_PREFIX}/ {'),
    'internal-not-caret',
  ],
  [
    'internal location as a regex',
    () => edit(INTERNAL_OPEN, 'location ~ ^/${INTERNAL_PREFIX}/ {'),
    'internal-not-caret',
  ],
  [
    'internal location path without trailing slash',
    () => edit(INTERNAL_OPEN, 'location ^~ /${INTERNAL_PREFIX} {'),
    'internal-location-slash',
  ],
  [
    'alias without trailing slash',
    () => edit('alias ${FILES_ROOT}/;', 'alias ${FILES_ROOT};'),
    'alias-slash',
  ],
  ['alias replaced by root', () => edit('alias ${FILES_ROOT}/;', 'root ${FILES_ROOT};'), 'alias-missing'],
  ['internal directive removed', () => edit(/\n\s*internal;\n/, '\n'), 'internal-missing'],
  [
    'rewrite into the internal prefix',
    () => insertAfter(SERVER_OPEN, '    rewrite ^/dl/(.*)$ /${INTERNAL_PREFIX}/$1 last;'),
    'internal-redirect',
  ],
  [
    'try_files fallback in location /',
    () =>
      edit(
        'location / {\n        return 404;',
        'location / {\n        try_files $uri /${INTERNAL_PREFIX}$uri;',
      ),
    'internal-redirect',
  ],
  [
    'error_page in the download location',
    () => insertAfter(DOWNLOAD_OPEN, '        error_page 403 = /${INTERNAL_PREFIX}/denied.html;'),
    'internal-redirect',
  ],
  [
    'rewrite inside an if block',
    () => edit('return 404;\n        }', 'rewrite ^ /x last;\n        }'),
    'internal-redirect',
  ],
  [
    'index in the internal location',
    () => insertAfter('internal;', '        index index.html;'),
    'index-in-internal',
  ],
  [
    'autoindex on in the internal location',
    () => edit('autoindex off;', 'autoindex on;'),
    'index-in-internal',
  ],
  [
    'proxy_cache on /download/',
    () => insertAfter(DOWNLOAD_OPEN, '        proxy_cache downloads;'),
    'proxy-cache',
  ],
  [
    'proxy_cache at server level',
    () => insertAfter(SERVER_OPEN, '    proxy_cache downloads;'),
    'proxy-cache',
  ],
  [
    'disable_symlinks removed',
    () => edit(/\n\s*disable_symlinks on from=\$document_root;\n/, '\n'),
    'symlinks-followed',
  ],
  [
    'disable_symlinks off',
    () => edit('disable_symlinks on from=$document_root;', 'disable_symlinks off;'),
    'symlinks-followed',
  ],
  [
    'disable_symlinks if_not_owner',
    () => edit('disable_symlinks on from=$document_root;', 'disable_symlinks if_not_owner;'),
    'symlinks-followed',
  ],
  [
    'proxy_pass with a trailing slash URI part',
    () => edit('proxy_pass http://gateway;\n\n', 'proxy_pass http://gateway/;\n\n'),
    'proxy-pass-uri',
  ],
  [
    'proxy_pass with a /download/ URI part',
    () => edit('proxy_pass http://gateway;\n\n', 'proxy_pass http://gateway/download/;\n\n'),
    'proxy-pass-uri',
  ],
  [
    'proxy_pass removed from /download/',
    () => edit('proxy_pass http://gateway;\n\n', '\n'),
    'download-not-proxied',
  ],
  [
    'internal location renamed away',
    () => edit(/location \^~ \/\$\{INTERNAL_PREFIX\}\/ \{\n(\s*#.*\n)*\s*internal;/, 'location ^~ /files/ {'),
    'internal-location-missing',
  ],
  ['tcp_nopush off in /download/', () => insertAfter(DOWNLOAD_OPEN, '        tcp_nopush off;'), 'cork-lost'],
  [
    'tcp_nopush only in the internal location',
    () => insertAfter(INTERNAL_OPEN, '        tcp_nopush on;', edit(/\n\s*tcp_nopush on;\n/, '\n')),
    'cork-lost',
  ],
  [
    'sendfile off in the internal location',
    () => insertAfter(INTERNAL_OPEN, '        sendfile off;'),
    'cork-lost',
  ],
  [
    'Content-Disposition re-added with always',
    () =>
      edit(
        'add_header Content-Disposition $upstream_http_x_download_disposition;',
        'add_header Content-Disposition $upstream_http_x_download_disposition always;',
      ),
    'download-headers-on-errors',
  ],
  [
    'Cache-Control re-added with always',
    () =>
      edit(
        'add_header Cache-Control $upstream_http_x_download_cache_control;',
        'add_header Cache-Control $upstream_http_x_download_cache_control always;',
      ),
    'download-headers-on-errors',
  ],
  [
    'a fixed Content-Type on every status',
    () => insertAfter('internal;', '        add_header Content-Type application/pdf always;'),
    'download-headers-on-errors',
  ],
  [
    'Content-Disposition not re-added',
    () => edit(/\n\s*add_header Content-Disposition \$upstream_http_x_download_disposition;\n/, '\n'),
    'download-headers-missing',
  ],
  [
    'Cache-Control not re-added',
    () => edit(/\n\s*add_header Cache-Control \$upstream_http_x_download_cache_control;\n/, '\n'),
    'download-headers-missing',
  ],
  [
    'Content-Disposition read from a header the gateway does not send',
    () => edit('$upstream_http_x_download_disposition;', '$upstream_http_content_disposition;'),
    'download-headers-missing',
  ],
  ['bucket location without internal', () => editObject(/\n\s*internal;\n/, '\n'), 'internal-missing'],
  ['bucket location without ^~', () => editObject(OBJECT_OPEN, 'location /_s3/ {'), 'internal-not-caret'],
  [
    "the client's headers sent on to the bucket",
    () => editObject('proxy_pass_request_headers off;', ''),
    'object-client-headers',
  ],
  [
    'objects spooled to a temporary file',
    () => editObject('proxy_max_temp_file_size 0;', ''),
    'object-buffered-to-disk',
  ],
  [
    "the bucket's X-Accel-Redirect obeyed",
    () => editObject(/proxy_ignore_headers X-Accel-Redirect /, 'proxy_ignore_headers '),
    'object-accel-obeyed',
  ],
  [
    "the bucket's Set-Cookie passed on",
    () => editObject('proxy_hide_header Set-Cookie;', ''),
    'object-headers-leak',
  ],
  [
    "the bucket's x-amz-request-id passed on",
    () => editObject('proxy_hide_header x-amz-request-id;', ''),
    'object-headers-leak',
  ],
  [
    'the URL read at proxy time instead of saved first',
    () => editObject('proxy_pass $download_object_url;', 'proxy_pass $upstream_http_x_download_object_url;'),
    'object-url-not-saved',
  ],
  [
    "the bucket's certificate not verified",
    () => editObject('proxy_ssl_verify on;', 'proxy_ssl_verify off;'),
    'object-tls-unverified',
  ],
  [
    "Content-Disposition read from the bucket's reply",
    () =>
      editObject(
        'add_header Content-Disposition $download_disposition;',
        'add_header Content-Disposition $upstream_http_x_download_disposition;',
      ),
    'download-headers-missing',
  ],
  [
    'Content-Disposition on the bucket location with always',
    () =>
      editObject(
        'add_header Content-Disposition $download_disposition;',
        'add_header Content-Disposition $download_disposition always;',
      ),
    'download-headers-on-errors',
  ],
  [
    'error_page of the bucket location to a URI',
    () =>
      editObject(
        'error_page 404 = @download_gateway_object_missing;',
        'error_page 404 = /${INTERNAL_PREFIX}/missing.html;',
      ),
    'internal-redirect',
  ],
  [
    'error_page to a named location that does more than return',
    () => editObject('return 404;', 'proxy_pass http://gateway;'),
    'internal-redirect',
  ],
  ['unbalanced braces', () => edit(/\}\s*$/, ''), 'parse-error'],
]

for (const [title, text, code] of variants) {
  t.test(`lintNginxConfig reports ${code} for: ${title}`, async (t) => {
    const problems = lintNginxConfig(text())
    t.ok(
      problems.some((p) => p.code === code),
      `expected ${code}, got ${JSON.stringify(problems.map((p) => p.code))}`,
    )
    t.ok(
      problems.every((p) => p.line > 0),
      'every problem has a line',
    )
  })
}

t.test('lintNginxConfig reports the line of the offending directive', async (t) => {
  const text = insertAfter(SERVER_OPEN, '    rewrite ^ /x last;')
  const line = text.split('\n').findIndex((l) => l.includes('rewrite ^ /x last;')) + 1
  t.same(
    lintNginxConfig(text).map((p) => [p.code, p.line]),
    [['internal-redirect', line]],
  )
})

t.test('lintNginxConfig ignores trap words in comments and quoted strings', async (t) => {
  const text = insertAfter(
    SERVER_OPEN,
    '    # rewrite ^ /x last; try_files $uri =404;\n    add_header X-Note "error_page; index";',
  )
  t.same(lintNginxConfig(text), [])
})

t.test('lintNginxConfig finds a redirect inherited from the http level', async (t) => {
  const text = `http {\n    error_page 404 /x;\n${template}\n}\n`
  t.same(
    lintNginxConfig(text).map((p) => p.code),
    ['internal-redirect'],
  )
})

t.test('lintNginxConfig accepts tcp_nopush and sendfile inherited from the http level', async (t) => {
  const bare = edit(/\n\s*sendfile on;\n\s*tcp_nopush on;\n/, '\n')
  t.same(
    lintNginxConfig(bare).map((p) => p.code),
    ['cork-lost', 'cork-lost'],
    'without them the server corks nothing',
  )
  t.same(lintNginxConfig(`http {\n    sendfile on;\n    tcp_nopush on;\n${bare}\n}\n`), [])
})

t.test('lintNginxConfig reports a config with no download server', async (t) => {
  t.same(
    lintNginxConfig('server { listen 80; location / { return 404; } }').map((p) => p.code),
    ['download-server-missing'],
  )
})

t.test('parseNginxConfig reads blocks, quotes, comments and ${} placeholders', async (t) => {
  const tree = parseNginxConfig(
    'upstream u { server ${HOST}; }\n# c { ;\nserver {\n  add_header A "x; {y}" always;\n  location ^~ /p/ { if (-d $f) { return 404; } }\n}\n',
  )
  t.same(
    tree.map((d) => [d.name, d.args, d.line]),
    [
      ['upstream', ['u'], 1],
      ['server', [], 3],
    ],
  )
  t.same(tree[0]?.block?.[0]?.args, ['${HOST}'])
  const server = tree[1]?.block ?? []
  t.same(server[0]?.args, ['A', 'x; {y}', 'always'])
  t.same(server[1]?.args, ['^~', '/p/'])
  t.same(server[1]?.block?.[0]?.args, ['(-d', '$f)'])
  t.same(server[1]?.block?.[0]?.block?.[0], { name: 'return', args: ['404'], line: 5 })
})

t.test('parseNginxConfig rejects broken structure with a line number', async (t) => {
  t.throws(() => parseNginxConfig('server {\n  listen 80;\n'), /^line 1: .*never closed/)
  t.throws(() => parseNginxConfig('listen 80;\n}\n'), /^line 2: unexpected "}"/)
  t.throws(() => parseNginxConfig('server { listen 80 }'), /without ";"/)
  t.throws(() => parseNginxConfig('add_header A "open;\n'), /unterminated/)
})

t.test('proxyPassUri finds the URI part of a proxy_pass target', async (t) => {
  t.equal(proxyPassUri('http://gateway'), '')
  t.equal(proxyPassUri('http://127.0.0.1:3000'), '')
  t.equal(proxyPassUri('http://gateway/'), '/')
  t.equal(proxyPassUri('https://gateway:8443/download/'), '/download/')
  t.equal(proxyPassUri('http://unix:/run/gw.sock'), '')
  t.equal(proxyPassUri('http://unix:/run/gw.sock:/x'), '/x')
})

t.test('lintNginxConfig passes the template with edge links, and catches their traps', async (t) => {
  const { withEdgeLinks } = await import('../../src/deploy/render-nginx.js')
  const { EDGE_LINKS_SNIPPET_PATH } = await import('../harness/nginx.js')
  const snippet = readFileSync(EDGE_LINKS_SNIPPET_PATH, 'utf8')
  const withEdge = (text: string) =>
    withEdgeLinks(
      template,
      text,
      { module: '/opt/gw/nginx/njs/edge-link.js', keysFile: '/etc/gw/edge-link-keys.json' },
      { filesRoot: '/srv/files', internalPrefix: '${INTERNAL_PREFIX}' },
    )
  t.same(lintNginxConfig(withEdge(snippet)), [])
  const codes = (text: string) => lintNginxConfig(withEdge(text)).map((p) => p.code)
  const unchecked = snippet.replace('if ($edge_link_verdict != ok) { return 500; }', '')
  t.not(unchecked, snippet)
  t.ok(codes(unchecked).includes('edge-unchecked'), 'the files are sent only when the check said ok')
  const noSlash = snippet.replace('alias ${FILES_ROOT}/;', 'alias ${FILES_ROOT};')
  t.not(noSlash, snippet)
  t.ok(codes(noSlash).includes('alias-slash'), 'off-by-slash in the edge location')
  const noSymlinks = snippet.replace('disable_symlinks on from=${FILES_ROOT};', '')
  t.not(noSymlinks, snippet)
  t.ok(codes(noSymlinks).includes('symlinks-followed'))
  const always = snippet.replace(
    'add_header Content-Disposition $edge_link_disposition;',
    'add_header Content-Disposition $edge_link_disposition always;',
  )
  t.not(always, snippet)
  t.ok(codes(always).includes('download-headers-on-errors'))
  const noCacheControl = snippet.replace('add_header Cache-Control $edge_link_cache_control;', '')
  t.not(noCacheControl, snippet)
  t.ok(codes(noCacheControl).includes('download-headers-missing'))
  const regex = snippet.replace('location ^~ /edge/ {', 'location /edge/ {')
  t.not(regex, snippet)
  t.ok(codes(regex).includes('internal-not-caret'), 'no regex location can take the edge URIs')
})
