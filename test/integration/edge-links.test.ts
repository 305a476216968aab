// Edge links end to end: issued by the gateway (admin API, `POST /links`, CLI), checked by real
// nginx with the project's njs module, never by the gateway. A valid link answers with the bytes
// and headers of a session download of the same file; every attack the share link tests make is
// refused by nginx with the gateway's own codes, without a download header and without a single
// decision line in the gateway's log. One nginx runs with no gateway behind it at all.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DEFAULT_POLICY } from '../../src/acl/index.js'
import { main as cli } from '../../src/cli.js'
import { issueEdgeLink } from '../../src/credentials/issue.js'
import { parseEdgeLinkKeys } from '../../src/credentials/links/link-keys.js'
import { rawGet } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import { freePort } from '../harness/ports.js'
import { type Scenario, startScenario, X_ACCEL_REDIS_CONFIG } from '../harness/scenario.js'

const NEW = { kid: 'e2', secret: '2'.repeat(40) }
const OLD = { kid: 'e1', secret: '1'.repeat(40) }
const REMOVED = { kid: 'e0', secret: '0'.repeat(40) }
const ADMIN_TOKEN = 'admin-token-admin-token-admin-token-0123'
const keysJson = (...keys: { kid: string; secret: string }[]) => JSON.stringify({ keys })

const keysDir = await mkdtemp(join(tmpdir(), 'gw-edge-keys-'))
t.teardown(() => rm(keysDir, { recursive: true, force: true }))
const keysFile = join(keysDir, 'edge-link-keys.json')
await writeFile(keysFile, keysJson(NEW, OLD), { mode: 0o600 })

const CONFIG = `${X_ACCEL_REDIS_CONFIG}links:\n  max_ttl: 7d\nadmin:\n  port: 0\n`
const ACL = `rules:
  - id: homes-shareable
    path: /home/{user}/**
    allow: authenticated
    share: {max_ttl: 1d}
  - id: shown
    path: /public/hello.txt
    allow: anyone
    disposition: inline
    cache_control: "public, max-age=60"
`
const scenario: Scenario = await startScenario(CONFIG, {
  env: { GATEWAY_EDGE_LINK_KEYS_FILE: keysFile, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN },
  aclFiles: { '05-edge.yaml': ACL },
  edgeLinks: { keysFile },
})
t.teardown(() => scenario.stop())
const { nginx, gateway, files } = scenario
const adminUrl = gateway.adminUrl as string
const secrets: string[] = [ADMIN_TOKEN, NEW.secret, OLD.secret]

/** Headers a download answer carries, compared between an edge and a session download. */
const DOWNLOAD_HEADERS = [
  'content-type',
  'content-disposition',
  'cache-control',
  'content-length',
  'etag',
  'last-modified',
  'accept-ranges',
  'x-content-type-options',
  'content-security-policy',
  'referrer-policy',
]

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${nginx.baseUrl}${path}`, init)
  const body = Buffer.from(await res.arrayBuffer())
  // nginx's own error pages (a file it cannot open) are HTML; the check's refusals are JSON.
  const json = res.headers.get('content-type')?.startsWith('application/json')
  const code = json ? (JSON.parse(body.toString()) as { code: string }).code : undefined
  return { status: res.status, headers: res.headers, body, code }
}

async function edgeLink(path: string, ttl = '1h'): Promise<{ id: string; url: string; token: string }> {
  const res = await fetch(`${adminUrl}/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path, ttl, issuer: 'ops', kind: 'edge' }),
  })
  const json = (await res.json()) as { id: string; url: string; token: string }
  if (res.status !== 201) throw new Error(`edge link not created: ${JSON.stringify(json)}`)
  secrets.push(json.token)
  return json
}

/** An edge link signed here with any key, as of any time. */
function signed(key: { kid: string; secret: string }, path: string, nowSeconds: number, ttl = '1h') {
  const parsed = parseEdgeLinkKeys(keysJson(key))
  if (!parsed.ok || parsed.ring === null) throw new Error('keys')
  const issued = issueEdgeLink(
    { path, ttl, issuer: 'test' },
    parsed.ring,
    { maxTtlSeconds: 86_400 },
    () => DEFAULT_POLICY,
    nowSeconds,
  )
  if (!issued.ok) throw new Error(issued.message)
  secrets.push(issued.value.token)
  return issued.value
}

const now = () => Math.floor(Date.now() / 1000)
const queryOf = (url: string) => url.slice(url.indexOf('?'))

/** Runs `work` and fails the test if the gateway wrote a single line meanwhile. */
async function withoutGateway<T>(t: Test, work: () => Promise<T>): Promise<T> {
  const before = gateway.logs().length
  const result = await work()
  // A line the gateway writes is flushed before its reply leaves; give a stray one a moment all the same.
  await new Promise((r) => setTimeout(r, 50))
  t.equal(gateway.logs().length, before, 'the gateway was not asked')
  return result
}

function sameDownload(
  t: Test,
  edge: Awaited<ReturnType<typeof get>>,
  session: Awaited<ReturnType<typeof get>>,
  file: Buffer,
) {
  t.equal(edge.status, 200)
  t.equal(session.status, 200, 'the session download works')
  t.ok(edge.body.equals(file), 'the file, byte for byte')
  for (const name of DOWNLOAD_HEADERS)
    t.equal(edge.headers.get(name), session.headers.get(name), `${name} as in a session download`)
}

function noDownloadHeaders(t: Test, res: Awaited<ReturnType<typeof get>>) {
  t.equal(res.headers.get('content-disposition'), null, 'no Content-Disposition')
  t.equal(res.headers.get('x-accel-redirect'), null)
  t.not(res.headers.get('cache-control'), 'private, no-store', 'not the download Cache-Control')
}

t.test('an edge link answers exactly like a session download, without the gateway', async (t) => {
  const alice = await scenario.login('alice')
  const cases = [
    'reports/q1.pdf',
    'public/hello.txt',
    'names/日本語.pdf',
    'names/what?.txt',
    'names/100%.txt',
    'names/cafe\u0301.txt',
    'names/with space.txt',
    `names/quote"d'.txt`,
    'names/%2e%2e',
  ]
  for (const rel of cases) {
    const link = await edgeLink(`/${rel}`)
    t.match(link.url, /^\/edge\/.+\?gwe=e2\./, 'signed with the newest key')
    const session = await get(`/download/${rel.split('/').map(encodeURIComponent).join('/')}`, {
      headers: { cookie: alice },
    })
    const edge = await withoutGateway(t, () => get(link.url))
    sameDownload(t, edge, session, files[rel] as Buffer)
  }
  const shown = await get((await edgeLink('/public/hello.txt')).url)
  t.match(shown.headers.get('content-disposition'), /^inline; /, "the rule's disposition")
  t.equal(shown.headers.get('cache-control'), 'public, max-age=60', "the rule's Cache-Control")
})

t.test('HEAD and ranges are answered by nginx; other methods are refused', async (t) => {
  const link = await edgeLink('/reports/q1.pdf')
  const head = await withoutGateway(t, () => get(link.url, { method: 'HEAD' }))
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
  t.equal(head.headers.get('content-length'), String((files['reports/q1.pdf'] as Buffer).length))
  t.match(head.headers.get('content-disposition'), /q1\.pdf/)
  const range = await get(link.url, { headers: { range: 'bytes=10-19' } })
  t.equal(range.status, 206)
  t.ok(range.body.equals((files['reports/q1.pdf'] as Buffer).subarray(10, 20)))
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await withoutGateway(t, () => get(link.url, { method }))
    t.match(res, { status: 405, code: 'GW_ERR_METHOD' }, method)
    t.equal(res.headers.get('allow'), 'GET, HEAD')
    noDownloadHeaders(t, res)
  }
})

t.test(
  'tampered, truncated, expired, wrong-key and decorated links are refused, each saying why',
  async (t) => {
    const link = await edgeLink('/public/hello.txt')
    const [kid, payload, mac] = link.token.split('.') as [string, string, string]
    const flip = (s: string) =>
      s[2] === 'A' ? `${s.slice(0, 2)}B${s.slice(3)}` : `${s.slice(0, 2)}A${s.slice(3)}`
    const at = (query: string) => get(`/edge/public/hello.txt?${query}`)
    // The MAC's last character carries two spare bits: another spelling of the same 32 bytes.
    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const strayBits = `${mac.slice(0, -1)}${B64URL[B64URL.indexOf(mac.slice(-1)) | 1]}`
    const removed = signed(REMOVED, '/public/hello.txt', now())
    const expired = signed(NEW, '/public/hello.txt', now() - 3600 - 5)
    const cases: [string, string, number, string][] = [
      ['payload changed', `gwe=${kid}.${flip(payload)}.${mac}`, 401, 'GW_ERR_LINK_BAD_SIGNATURE'],
      ['MAC changed', `gwe=${kid}.${payload}.${flip(mac)}`, 401, 'GW_ERR_LINK_BAD_SIGNATURE'],
      ['spare MAC bits set', `gwe=${kid}.${payload}.${strayBits}`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['truncated', `gwe=${link.token.slice(0, -5)}`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['no MAC', `gwe=${kid}.${payload}`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['no link', '', 401, 'GW_ERR_LINK_MALFORMED'],
      ['another key id', `gwe=e9.${payload}.${mac}`, 401, 'GW_ERR_LINK_UNKNOWN_KEY'],
      ['the other listed key id', `gwe=e1.${payload}.${mac}`, 401, 'GW_ERR_LINK_BAD_SIGNATURE'],
      ['a removed key', queryOf(removed.url).slice(1), 401, 'GW_ERR_LINK_UNKNOWN_KEY'],
      ['expired', queryOf(expired.url).slice(1), 410, 'GW_ERR_LINK_EXPIRED'],
      ['a parameter added', `gwe=${link.token}&x=1`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['a parameter before it', `x=1&gwe=${link.token}`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['given twice', `gwe=${link.token}&gwe=${link.token}`, 401, 'GW_ERR_LINK_MALFORMED'],
      ['an escaped character', `gwe=${link.token.replace('.', '%2E')}`, 401, 'GW_ERR_LINK_MALFORMED'],
    ]
    for (const [what, query, status, code] of cases) {
      const res = await withoutGateway(t, () => at(query))
      t.match(res, { status, code }, what)
      noDownloadHeaders(t, res)
      t.notOk(res.body.includes('hello, world'), `${what}: not a byte of the file`)
    }
  },
)

t.test('a link serves its own file only, and every traversal is refused by nginx', async (t) => {
  const link = await edgeLink('/reports/q1.pdf')
  const query = queryOf(link.url)
  const swapped = await withoutGateway(t, () => get(`/edge/home/alice/own.txt${query}`))
  t.match(swapped, { status: 403, code: 'GW_ERR_LINK_WRONG_PATH' })
  noDownloadHeaders(t, swapped)
  const secret = files['home/alice/own.txt'] as Buffer
  const q1 = files['reports/q1.pdf'] as Buffer
  // Each spells reports/q1.pdf, or a way out of it, otherwise than the link's one spelling.
  const targets = [
    '/edge/reports/../reports/q1.pdf',
    '/edge/reports/./q1.pdf',
    '/edge/reports/%2e%2e/reports/q1.pdf',
    '/edge/reports/%2E/q1.pdf',
    '/edge/reports%2Fq1.pdf',
    '/edge/reports%2fq1.pdf',
    '/edge/reports//q1.pdf',
    '/edge//reports/q1.pdf',
    '/edge/reports/q1.pdf%00',
    '/edge/reports/q1.pdf%00.txt',
    '/edge/reports\\q1.pdf',
    '/edge/reports/q1.pdf/',
    '/edge/reports/%c0%ae%c0%ae/reports/q1.pdf',
    '/edge/home/alice/../../reports/q1.pdf',
    '/edge/../edge/reports/q1.pdf',
    '/edge/%2e%2e/edge/reports/q1.pdf',
    '/download/../edge/reports/q1.pdf',
  ]
  for (const target of targets) {
    const before = gateway.logs().length
    const res = await rawGet(nginx.port, `${target}${query}`)
    t.ok([400, 403, 404].includes(res.status), `${target}: refused (${res.status})`)
    t.notOk(res.body.includes(q1.subarray(0, 32)), `${target}: not the file`)
    t.notOk(res.body.includes(secret), `${target}: not another file`)
    t.equal(res.headers['content-disposition'], undefined, `${target}: no download header`)
    t.equal(gateway.logs().length, before, `${target}: the gateway was not asked`)
  }
  // Escapes inside a name are another spelling of the same file: the gateway serves them too.
  for (const same of ['/edge/reports/q1%2Epdf', '/edge/reports/q1.pd%66', '/edge/%72eports/q1.pdf']) {
    const res = await rawGet(nginx.port, `${same}${query}`)
    t.equal(res.status, 200, `${same}: the same file`)
    t.ok(res.body.equals(q1), `${same}: its bytes`)
  }
  const dotted = await rawGet(nginx.port, `/edge/reports/../reports/q1.pdf${query}`)
  t.equal(dotted.status, 400, 'a dot segment is refused as the gateway refuses it')
  t.match(JSON.parse(dotted.body.toString()), { code: 'GW_ERR_BAD_PATH' })
  const direct = await rawGet(nginx.port, `/_protected_edge${query}`)
  t.equal(direct.status, 404, 'the internal location is not reachable from outside')
})

t.test('a file replaced by a symlink is not followed', async (t) => {
  const link = await edgeLink('/public/hello.txt')
  const { rename, symlink } = await import('node:fs/promises')
  const file = join(scenario.filesRoot, 'public/hello.txt')
  await rename(file, `${file}.moved`)
  await symlink(join(scenario.outsideDir, 'secret.txt'), file)
  t.teardown(async () => {
    await rm(file)
    await rename(`${file}.moved`, file)
  })
  // open_file_cache keeps nothing for this location; still, a kept descriptor would be the old file.
  const res = await get(link.url)
  t.not(res.status, 200)
  t.notOk(res.body.includes(scenario.outsideSecret), 'not the symlink target')
  t.equal(res.headers.get('content-disposition'), null)
})

t.test('issued by a logged-in user under the share rules, and by the CLI', async (t) => {
  const alice = await scenario.login('alice')
  const share = (body: object) =>
    fetch(`${gateway.baseUrl}/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: alice },
      body: JSON.stringify({ kind: 'edge', ...body }),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }))
  const made = await share({ path: '/home/alice/own.txt', ttl: '12h' })
  t.equal(made.status, 201, JSON.stringify(made.json))
  t.match(made.json, { kind: 'edge', path: '/home/alice/own.txt', max_downloads: null })
  secrets.push(made.json.url as string)
  const res = await withoutGateway(t, () => get(made.json.url as string))
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'alice only\n')
  t.match(await share({ path: '/home/alice/own.txt', ttl: '2d' }), {
    status: 403,
    json: { code: 'GW_ERR_SHARE_NOT_ALLOWED' },
  })
  t.match(await share({ path: '/reports/q1.pdf', ttl: '1h' }), {
    status: 403,
    json: { code: 'GW_ERR_SHARE_NOT_ALLOWED' },
  })
  t.match(await share({ path: '/home/alice/own.txt', ttl: '1h', max_downloads: 2 }), { status: 400 })

  const adminBad = await fetch(`${adminUrl}/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path: '/reports/', ttl: '1h', issuer: 'ops', kind: 'edge' }),
  })
  t.equal(adminBad.status, 400, 'no folder edge links')

  const out: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
  const env = {
    GATEWAY_EDGE_LINK_KEYS_FILE: keysFile,
    GATEWAY_CONFIG: join(gateway.dir, 'gateway.yaml'),
  }
  const code = await cli(
    ['link', 'create', '--kind', 'edge', '--path', '/public/hello.txt', '--ttl', '1h'],
    io,
    env,
  )
  t.equal(code, 0, out.join('\n'))
  const printed = JSON.parse(out[0] as string) as { url: string; kind: string }
  secrets.push(printed.url)
  t.equal(printed.kind, 'edge')
  const viaCli = await get(printed.url)
  t.equal(viaCli.status, 200)
  t.equal(viaCli.headers.get('cache-control'), 'public, max-age=60', 'the rules the CLI read')
})

t.test('with no gateway at all behind nginx, edge links still download', async (t) => {
  const lone = await startNginx({
    gatewayPort: await freePort(),
    filesRoot: scenario.filesRoot,
    edgeLinks: { keysFile },
  })
  t.teardown(() => lone.stop())
  const link = await edgeLink('/reports/q1.pdf')
  const res = await fetch(`${lone.baseUrl}${link.url}`)
  t.equal(res.status, 200)
  t.ok(Buffer.from(await res.arrayBuffer()).equals(files['reports/q1.pdf'] as Buffer))
  const session = await fetch(`${lone.baseUrl}/download/reports/q1.pdf`)
  t.equal(session.status, 502, 'a session download needs the gateway, which is not there')
})

t.test('rotation: the older key verifies until it is removed from the file and nginx reloads', async (t) => {
  const old = signed(OLD, '/public/hello.txt', now())
  t.match(old.url, /gwe=e1\./)
  t.equal((await get(old.url)).status, 200)
  await writeFile(keysFile, keysJson(NEW))
  t.teardown(async () => {
    await writeFile(keysFile, keysJson(NEW, OLD))
    await nginx.reload()
  })
  t.equal((await get(old.url)).status, 200, 'nginx read its keys when it loaded its configuration')
  await nginx.reload()
  // Until the old workers have exited, a new connection may still reach one of them.
  let after = await rawGet(nginx.port, old.url)
  for (let tries = 0; after.status === 200 && tries < 50; tries++) {
    await new Promise((r) => setTimeout(r, 100))
    after = await rawGet(nginx.port, old.url)
  }
  t.equal(after.status, 401, 'refused once reloaded')
  t.match(JSON.parse(after.body.toString()), { code: 'GW_ERR_LINK_UNKNOWN_KEY' })
  const fresh = await edgeLink('/public/hello.txt')
  t.equal((await get(fresh.url)).status, 200, 'links of the remaining key still download')
})

t.test('no edge link or key appears in a gateway log line, no key in nginx error log', async (t) => {
  t.ok(secrets.length > 10, `secrets handed out (${secrets.length})`)
  for (const secret of secrets) {
    const part = secret.slice(-40)
    t.notOk(gateway.logText().includes(part), `not logged by the gateway: ...${part.slice(-6)}`)
  }
  // nginx's error log names the request line, link included, when it cannot send a file (the
  // symlink above), as its access log always does: both are documented as sensitive. The keys
  // themselves never reach it.
  for (const key of [NEW, OLD, REMOVED]) t.notOk(nginx.errorLog().includes(key.secret), `key ${key.kid}`)
})
