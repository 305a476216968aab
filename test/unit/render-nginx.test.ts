// `download-gateway render-nginx`: the project's template rendered with only our placeholders
// replaced, values that could break out of a directive refused, the TLS additions, and the result
// checked by the real nginx of this machine (nginx -t).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { atLeast, checkWithNginx, findNginxBinary } from '../../src/deploy/nginx-check.js'
import {
  type NginxSite,
  renderNginxSite,
  siteProblems,
  TLS_MARKER,
  templateVariables,
} from '../../src/deploy/render-nginx.js'
import {
  EXIT_REFUSED_BY_NGINX,
  EXIT_RENDERED,
  EXIT_USAGE,
  parseRenderNginxArgs,
  renderNginxCommand,
  upstreamAddress,
} from '../../src/deploy/render-nginx-command.js'
import { lintNginxConfig } from '../harness/nginx-lint.js'

const TEMPLATE_FILE = 'nginx/templates/download.conf.template'
const template = readFileSync(TEMPLATE_FILE, 'utf8')
const nginx = findNginxBinary()
if (nginx === undefined) throw new Error('these tests check with the real nginx, and none is installed')

// A certificate for the TLS renderings: nginx -t loads it.
const certDir = mkdtempSync(join(tmpdir(), 'gw-render-tls-'))
t.teardown(() => rmSync(certDir, { recursive: true, force: true }))
const cert = join(certDir, 'cert.pem')
const key = join(certDir, 'key.pem')
execFileSync('openssl', [
  'req',
  '-x509',
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  key,
  '-out',
  cert,
  '-days',
  '2',
  '-subj',
  '/CN=download.example.test',
])

const PLAIN: NginxSite = {
  listen: '80',
  serverName: 'download.example.test',
  gateways: ['127.0.0.1:3000'],
  filesRoot: '/srv/files',
  internalPrefix: '_protected',
}
const TLS: NginxSite = {
  ...PLAIN,
  listen: '443 ssl',
  tls: { cert, key, redirectListen: '80' },
}

/** Every nginx variable ($name, not our braced placeholders) in `text`, with how often it occurs. */
function nginxVariables(text: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const [name] of text.matchAll(/\$[a-z_][a-z0-9_]*/g)) counts.set(name, (counts.get(name) ?? 0) + 1)
  return counts
}

t.test('only our placeholders are replaced; every nginx variable stays as written', async (t) => {
  const out = renderNginxSite(template, PLAIN)
  t.same(templateVariables(out), [], 'no placeholder left')
  t.same(nginxVariables(out), nginxVariables(template), 'the same nginx variables, as often')
  for (const variable of ['$http_cookie', '$host', '$request_id', '$upstream_http_x_download_disposition']) {
    t.ok(out.includes(variable), `${variable} survives`)
  }
  t.match(out, /^\s*alias \/srv\/files\/;$/m)
  t.match(out, /^\s*location \^~ \/_protected\/ \{$/m)
  t.match(out, /^\s*server 127\.0\.0\.1:3000;$/m)
  t.notOk(out.includes(TLS_MARKER), 'the marker goes')
  // proxy_ssl_* (TLS to a bucket) is the client side and always there.
  t.notMatch(out, /^\s*ssl_/m, 'no TLS without a certificate')
})

t.test('the rendered configs keep every trap the template avoids', async (t) => {
  t.same(lintNginxConfig(renderNginxSite(template, PLAIN), { internalPrefix: '_protected' }), [])
  t.same(lintNginxConfig(renderNginxSite(template, TLS), { internalPrefix: '_protected' }), [])
})

t.test('the real nginx accepts the rendered configs (nginx -t)', async (t) => {
  for (const [what, site] of [
    ['plain HTTP', PLAIN],
    ['TLS with the HTTP redirect', TLS],
    ['TLS without it', { ...TLS, tls: { cert, key, redirectListen: null } }],
    [
      'a unix socket upstream and IPv6',
      { ...PLAIN, listen: '[::]:8080', gateways: ['unix:/run/gw/gw.sock'] },
    ],
    [
      'three gateways with server parameters',
      {
        ...PLAIN,
        gateways: ['10.0.0.7:3000', '10.0.0.8:3000 max_fails=2 fail_timeout=5s', '[fd00::9]:3000'],
      },
    ],
  ] as const) {
    const check = checkWithNginx(nginx, renderNginxSite(template, site))
    t.ok(check.ok, `${what}: ${check.output}`)
  }
})

t.test('nginx -t really checks: a certificate that is not there is refused', async (t) => {
  const check = checkWithNginx(
    nginx,
    renderNginxSite(template, {
      ...TLS,
      tls: { cert: join(certDir, 'none.pem'), key, redirectListen: null },
    }),
  )
  t.notOk(check.ok)
  t.match(check.output, /none\.pem/)
  t.notMatch(
    check.output,
    new RegExp(`${tmpdir()}/download-gateway-nginx-t-`),
    'its temp folder is not named',
  )
})

t.test('TLS: modern protocols in the server block, HSTS over HTTPS, HTTP only redirects', async (t) => {
  const out = renderNginxSite(template, TLS)
  t.match(out, /^ {4}listen 443 ssl;$/m)
  t.match(out, /^ {4}ssl_protocols TLSv1\.2 TLSv1\.3;$/m)
  t.match(out, /^ {4}ssl_certificate .*cert\.pem;$/m)
  t.match(out, /^ {4}ssl_session_tickets off;$/m)
  t.notMatch(out, /TLSv1(\.1)?[ ;]/, 'no TLS 1.0 or 1.1')
  t.match(out, /map \$scheme \$download_gateway_hsts \{\s*https "max-age=63072000";/)
  const redirect = out.slice(out.lastIndexOf('server {'))
  t.match(redirect, /listen 80;/)
  t.match(redirect, /return 301 https:\/\/\$host\$request_uri;/)
  t.notMatch(redirect, /location|proxy_pass/, 'the redirect server answers nothing else')
  const noRedirect = renderNginxSite(template, { ...TLS, tls: { cert, key, redirectListen: null } })
  t.notMatch(noRedirect, /return 301/)
})

t.test('values that could end a directive, open a block or read a variable are refused', async (t) => {
  const bad: Array<[Partial<NginxSite>, RegExp]> = [
    [{ listen: '80; include /etc/shadow' }, /--listen/],
    [{ listen: '' }, /--listen is empty/],
    [{ serverName: 'a.test; return 200' }, /--server-name/],
    [{ serverName: 'a.test{' }, /--server-name/],
    [{ serverName: '$host' }, /--server-name/],
    [{ gateways: ['127.0.0.1:3000;\n}'] }, /--gateway/],
    [{ gateways: ['127.0.0.1:3001', '"quoted"'] }, /--gateway/],
    [{ gateways: [] }, /at least one --gateway/],
    [{ gateways: ['127.0.0.1:3001', '127.0.0.1:3001 backup'] }, /--gateway 127\.0\.0\.1:3001 is given twice/],
    [{ filesRoot: 'relative/files' }, /--files-root must be an absolute path/],
    [{ filesRoot: '/srv/my files' }, /--files-root/],
    [{ filesRoot: '/srv/$uri' }, /--files-root/],
    [{ filesRoot: '/' }, /must not be \/ itself/],
    [{ internalPrefix: '../x' }, /--internal-prefix/],
    [{ internalPrefix: 'a/b' }, /--internal-prefix/],
    [
      { tls: { cert: 'cert.pem', key, redirectListen: '80' }, listen: '443 ssl' },
      /--tls-cert must be an absolute/,
    ],
    [{ tls: { cert, key, redirectListen: '80' }, listen: '443' }, /needs the ssl parameter/],
    [{ tls: { cert, key: '/k#x', redirectListen: '80' }, listen: '443 ssl' }, /--tls-key/],
  ]
  for (const [change, message] of bad) {
    const site = { ...PLAIN, ...change }
    t.match(siteProblems(site).join('\n'), message, JSON.stringify(change))
    t.throws(() => renderNginxSite(template, site), message)
  }
  t.same(siteProblems(PLAIN), [])
  t.same(siteProblems({ ...PLAIN, serverName: 'a.example.test *.example.test _', listen: '[::1]:80' }), [])
})

t.test('the template must hold the TLS marker once', async (t) => {
  t.throws(() => renderNginxSite(template.replace(TLS_MARKER, '# gone'), PLAIN), /exactly once \(found 0\)/)
  t.throws(() => renderNginxSite(template.replace('}\n', `}\n${TLS_MARKER}\n`), PLAIN), /found 2/)
})

// ---- the command ------------------------------------------------------------------------------

function run(argv: string[]): { code: number; out: string; err: string } {
  const out: string[] = []
  const err: string[] = []
  const code = renderNginxCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

t.test('render-nginx prints the config and says that nginx accepts it', async (t) => {
  const res = run(['--server-name', 'download.example.test', '--files-root', '/srv/files/', '--nginx', nginx])
  t.equal(res.code, EXIT_RENDERED, res.err)
  t.equal(`${res.out}\n`, renderNginxSite(template, PLAIN), 'exactly the rendering, trailing slash dropped')
  t.match(res.err, /^ok: nginx \d+\.\d+\.\d+ accepts this configuration/)
})

t.test('render-nginx with a certificate listens with TLS and redirects plain HTTP', async (t) => {
  const res = run([
    '--server-name',
    'download.example.test',
    '--files-root',
    '/srv/files',
    '--tls-cert',
    cert,
    '--tls-key',
    key,
    '--listen',
    '8443',
    '--redirect-listen',
    '8080',
    '--no-check',
  ])
  t.equal(res.code, EXIT_RENDERED, res.err)
  t.match(res.out, /^ {4}listen 8443 ssl;$/m, '--listen 8443 with a certificate means TLS')
  t.match(res.out, /^ {4}listen 8080;$/m)
  t.equal(res.err, '', 'not checked, nothing said')
})

t.test('render-nginx exits 1 when nginx refuses, 2 on bad input', async (t) => {
  const refused = run([
    '--server-name',
    'x.test',
    '--files-root',
    '/srv',
    '--tls-cert',
    join(certDir, 'missing.pem'),
    '--tls-key',
    key,
    '--nginx',
    nginx,
  ])
  t.equal(refused.code, EXIT_REFUSED_BY_NGINX)
  t.match(refused.err, /refuses this configuration:\n {2}nginx: \[emerg\] cannot load certificate/)
  const usage: Array<[string[], RegExp]> = [
    [['--files-root', '/srv'], /--server-name is required/],
    [['--server-name', 'x.test'], /give --files-root, or --config/],
    [['--server-name', 'x.test', '--files-root', '/srv', '--tls-cert', cert], /go together/],
    [['--server-name', 'x.test', '--files-root', '/srv', '--no-redirect'], /go with --tls-cert/],
    [['--server-name', 'x.test', '--files-root', '/srv', '--nginx', nginx, '--no-check'], /not both/],
    [['--server-name', 'x.test', '--files-root', '/srv', '--bogus'], /Unknown option '--bogus'/],
    [['--server-name', 'x;y', '--files-root', '/srv'], /'x;y' is not a host name/],
    [['--server-name', 'x.test', '--files-root', '/srv', '--template', '/nonexistent/t'], /ENOENT/],
  ]
  for (const [argv, message] of usage) {
    const res = run(argv)
    t.equal(res.code, EXIT_USAGE, argv.join(' '))
    t.match(res.err, message, argv.join(' '))
    t.equal(res.out, '', `${argv.join(' ')}: nothing on standard output`)
  }
})

t.test('render-nginx --config takes the files root, prefix and address from the gateway', async (t) => {
  const parsed = parseRenderNginxArgs([
    '--server-name',
    'x.test',
    '--config',
    'config/gateway.production.yaml',
  ])
  t.ok(parsed.ok && !parsed.help)
  if (!parsed.ok || parsed.help) return
  t.equal(parsed.request.site.filesRoot, '/srv/files')
  t.equal(parsed.request.site.internalPrefix, '_protected')
  t.same(
    parsed.request.site.gateways,
    ['127.0.0.1:3000'],
    'the gateway listens on every address: nginx dials loopback',
  )
  const overridden = parseRenderNginxArgs([
    '--server-name',
    'x.test',
    '--config',
    'config/gateway.production.yaml',
    '--upstream',
    'unix:/run/gw.sock',
  ])
  t.ok(overridden.ok && !overridden.help && overridden.request.site.gateways[0] === 'unix:/run/gw.sock')
  const direct = run(['--server-name', 'x.test', '--config', 'config/gateway.yaml'])
  t.equal(direct.code, EXIT_USAGE)
  t.match(direct.err, /delivery\.mode is direct; nginx delivers files only in x-accel mode/)
  const missing = run(['--server-name', 'x.test', '--config', 'config/none.yaml'])
  t.equal(missing.code, EXIT_USAGE)
  t.match(missing.err, /none\.yaml/)
})

t.test('upstreamAddress: where nginx dials a gateway bound to an address', async (t) => {
  t.equal(upstreamAddress('0.0.0.0', 3000), '127.0.0.1:3000')
  t.equal(upstreamAddress('::', 3000), '[::1]:3000')
  t.equal(upstreamAddress('127.0.0.1', 8080), '127.0.0.1:8080')
  t.equal(upstreamAddress('fd00::5', 3000), '[fd00::5]:3000')
  t.equal(upstreamAddress('gateway', 3000), 'gateway:3000')
})

t.test('atLeast compares dotted versions', async (t) => {
  t.ok(atLeast('1.22.1', [1, 19, 5]))
  t.ok(atLeast('1.19.5', [1, 19, 5]))
  t.notOk(atLeast('1.18.0', [1, 19, 5]))
  t.ok(atLeast('1.27.3', [1, 27, 3]))
  t.notOk(atLeast('1.9.15', [1, 19, 5]))
})

// docs/deployment.md shows the TLS lines and a host nginx.conf: both must be what works.
const deploymentDoc = readFileSync('docs/deployment.md', 'utf8')

t.test('docs: the TLS lines shown are the ones render-nginx writes', async (t) => {
  const shown = deploymentDoc.split('\n').filter((line) => /^\s+ssl_/.test(line))
  t.ok(shown.length >= 8, 'the doc shows the ssl_ lines')
  const rendered = renderNginxSite(template, TLS)
  for (const line of shown) {
    const directive = line.trim().replace(/^(ssl_certificate(?:_key)?) .*;$/, '$1')
    t.ok(
      rendered.split('\n').some((l) => l.trim().startsWith(directive)),
      `rendered: ${directive.slice(0, 60)}`,
    )
  }
})

t.test('docs: the host nginx.conf shown, with the rendered TLS site, passes nginx -t', async (t) => {
  const blocks = [...deploymentDoc.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  const main = blocks.find((b) => b.includes('events {'))
  if (main === undefined) throw new Error('no nginx.conf in docs/deployment.md')
  const dir = mkdtempSync(join(tmpdir(), 'gw-host-conf-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'conf.d'))
  writeFileSync(join(dir, 'conf.d/download-gateway.conf'), renderNginxSite(template, TLS))
  // The same file, with its machine paths moved into the temp folder.
  const conf = main
    .replace('include /etc/nginx/conf.d/*.conf;', `include ${dir}/conf.d/*.conf;`)
    .replaceAll('/var/log/nginx/', `${dir}/`)
    .replace('/run/nginx.pid', `${dir}/nginx.pid`)
    .replace(/^user www-data;$/m, process.getuid?.() === 0 ? 'user root;' : '')
    .replace('http {', `http {\n    client_body_temp_path ${dir}/cb;\n    proxy_temp_path ${dir}/px;`)
  t.notMatch(conf, /\/var\/|\/run\/|\/etc\/nginx\/conf\.d/, 'nothing of the machine is touched')
  writeFileSync(join(dir, 'nginx.conf'), conf)
  const run = spawnSync(
    nginx,
    ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'e.log')],
    {
      encoding: 'utf8',
    },
  )
  t.equal(run.status, 0, run.stderr)
})

t.test('edge links: off by default, and on with --edge-links-keys, accepted by nginx with njs', async (t) => {
  const plain = renderNginxSite(template, PLAIN)
  t.notMatch(plain, /js_/, 'without edge links nothing needs njs')
  t.match(plain, /^ {4}# download-gateway: edge links go here$/m, 'the marker stays a comment')
  const dir = mkdtempSync(join(tmpdir(), 'gw-render-edge-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keys = join(dir, 'edge-link-keys.json')
  writeFileSync(keys, JSON.stringify({ keys: [{ kid: 'e1', secret: 'x'.repeat(40) }] }))
  const res = run([
    '--server-name',
    'download.example.test',
    '--files-root',
    '/srv/files',
    '--edge-links-keys',
    keys,
    '--nginx',
    nginx,
  ])
  t.equal(res.code, EXIT_RENDERED, res.err)
  t.match(res.err, /^ok: nginx .* accepts this configuration/, 'nginx -t with the njs module loaded')
  t.notMatch(res.out, /edge links go here/, 'the marker is replaced')
  t.match(res.out, new RegExp(`^ {4}js_preload_object edge_link_keys from ${keys};$`, 'm'))
  t.match(res.out, /^ {4}js_import edge_link from \/.+\/nginx\/njs\/edge-link\.js;$/m, 'the project module')
  t.match(res.out, /^ {4}location \^~ \/edge\/ \{$/m)
  t.match(res.out, /^ {8}alias \/srv\/files\/;$/m)
  t.match(res.out, /^ {8}disable_symlinks on from=\/srv\/files;$/m)
  t.notOk(res.out.includes('x'.repeat(40)), 'the key is not in the configuration')
  t.same(lintNginxConfig(res.out), [], 'the traps the template avoids stay avoided')
  const relative = run([
    '--server-name',
    'd.example.test',
    '--files-root',
    '/srv/files',
    '--edge-links-keys',
    'keys.json',
    '--no-check',
  ])
  t.equal(relative.code, EXIT_USAGE)
  t.match(relative.err, /--edge-links-keys must be an absolute path/)
  const lone = run([
    '--server-name',
    'd.example.test',
    '--files-root',
    '/srv/files',
    '--edge-links-module',
    '/x.js',
  ])
  t.equal(lone.code, EXIT_USAGE)
})

t.test('render-nginx --gateway, once per gateway: one server line each, retries bounded', async (t) => {
  const parsed = parseRenderNginxArgs([
    '--server-name',
    'x.test',
    '--files-root',
    '/srv/files',
    '--gateway',
    '10.0.0.7:3000',
    '--gateway',
    '10.0.0.8:3000 max_fails=2',
    '--upstream',
    'unix:/run/gw.sock',
  ])
  t.ok(parsed.ok && !parsed.help)
  if (!parsed.ok || parsed.help) return
  t.same(parsed.request.site.gateways, ['10.0.0.7:3000', '10.0.0.8:3000 max_fails=2', 'unix:/run/gw.sock'])
  const out = renderNginxSite(template, parsed.request.site)
  const upstream = out.slice(
    out.indexOf('upstream gateway {'),
    out.indexOf('}', out.indexOf('upstream gateway {')),
  )
  t.same(
    [...upstream.matchAll(/^ {4}server (.*);$/gm)].map((m) => m[1]),
    ['10.0.0.7:3000', '10.0.0.8:3000 max_fails=2', 'unix:/run/gw.sock'],
  )
  t.match(out, /^ {4}keepalive \d+;$/m)
  // GET and HEAD go to the next gateway on a connection error; POST only when never sent.
  t.match(out, /^ {4}proxy_next_upstream error timeout;$/m)
  t.notMatch(out, /^\s*proxy_next_upstream [^;]*non_idempotent/m)
  t.match(out, /^ {4}proxy_next_upstream_tries [1-9];$/m)
  const nextTimeout = Number(/^ {4}proxy_next_upstream_timeout (\d+)s;$/m.exec(out)?.[1])
  const readTimeouts = [...out.matchAll(/proxy_read_timeout (\d+)s;/g)].map((m) => Number(m[1]))
  t.ok(nextTimeout > 0, 'retries are bounded in time')
  t.ok(
    readTimeouts.every((read) => read > nextTimeout),
    'a gateway that received the request and went silent is never retried',
  )
  t.ok(checkWithNginx(nginx, out).ok, 'nginx -t accepts three gateways')
})
