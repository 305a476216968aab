// When the gateway says yes and nginx then cannot open the file (it is missing, unreadable, a
// directory, a socket), nginx answers with its own error page. That page must be a plain error:
// without the download's Content-Disposition (the browser would save the HTML page under the
// file's name), Cache-Control (a rule's `public, max-age` would let caches keep the 404) or
// Content-Type. The gateway sends those two under X-Download-* names, which do not survive the
// internal redirect, and the internal location re-adds them only on success
// (nginx/templates/download.conf.template). Real gateway, real nginx; as root, nginx's workers run
// as nobody so that a file with mode 000 is really unreadable to them.
import { chmodSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { makeFileTree } from '../harness/files.js'
import { type RunningGateway, startGateway } from '../harness/gateway.js'
import { type RawResponse, rawGet } from '../harness/http.js'
import { type NginxServer, startNginx, unprivilegedWorkerUser } from '../harness/nginx.js'

const X_ACCEL_MEMORY_CONFIG = `
server:
  log_level: info
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
  internal_prefix: _protected
session:
  store: memory
  cookie_name: sid
acl:
  paths: [acl.d]
  watch: false
`

const ACL = `rules:
  - id: public
    path: /public/**
    allow: anyone
  - id: cached
    path: /cached/**
    allow: anyone
    cache_control: "public, max-age=60"
`

const report = Buffer.alloc(50_000, 'r')
const logo = Buffer.alloc(3_000, 'l')
const tree = await makeFileTree({
  'public/report.pdf': report,
  'public/unreadable.txt': 'NOBODY-MAY-READ-THIS',
  'cached/logo.png': logo,
  'cached/unreadable.png': 'NOBODY-MAY-READ-THIS-EITHER',
})
t.teardown(() => tree.cleanup())
chmodSync(join(tree.root, 'public/unreadable.txt'), 0o000)
chmodSync(join(tree.root, 'cached/unreadable.png'), 0o000)
mkdirSync(join(tree.root, 'public/subdir'), { mode: 0o755 })
mkdirSync(join(tree.root, 'cached/dir.png'), { mode: 0o755 })
const socket: Server = createServer()
await new Promise<void>((resolve) => socket.listen(join(tree.root, 'public/socket'), resolve))
t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())))

let gateway: RunningGateway | undefined
let nginx: NginxServer | undefined
t.teardown(async () => {
  await nginx?.stop()
  await gateway?.stop()
})
gateway = await startGateway({
  configYaml: X_ACCEL_MEMORY_CONFIG,
  aclFiles: { '10-test.yaml': ACL },
  filesRoot: tree.root,
})
const isRoot = process.getuid?.() === 0
nginx = await startNginx({
  gatewayPort: gateway.port,
  filesRoot: tree.root,
  ...(isRoot ? { workerUser: unprivilegedWorkerUser() } : {}),
})
const gw = gateway
const port = nginx.port

const DOWNLOAD_HEADERS = [
  'content-disposition',
  'cache-control',
  'x-download-disposition',
  'x-download-cache-control',
]

/** The gateway's decision for the request just made: it said yes, so the error is nginx's. */
async function lastDecision(from: number): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 2000
  for (;;) {
    const line = gw
      .logs()
      .slice(from)
      .find((l) => l.msg === 'decision')
    if (line || Date.now() > deadline) return line
    await new Promise((r) => setTimeout(r, 10))
  }
}

function checkPlainError(t: Test, res: RawResponse, status: number, what: string): void {
  t.equal(res.status, status, `${what}: ${status}`)
  for (const name of DOWNLOAD_HEADERS) t.equal(res.headers[name], undefined, `${what}: no ${name}`)
  t.equal(res.headers['content-type'], 'text/html', `${what}: nginx's own type, not the file's`)
  t.equal(res.headers.expires, undefined, `${what}: no expiry`)
  // The hardening headers are meant for every status.
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
}

const ERRORS: Array<[path: string, status: number, what: string]> = [
  ['public/missing.pdf', 404, 'a missing file'],
  ['public/subdir', 404, 'a directory'],
  ['public/socket', 500, 'a Unix socket'],
  ['cached/missing.png', 404, 'a missing file under a cacheable rule'],
  ['cached/dir.png', 404, 'a directory named like a file under a cacheable rule'],
  ['public/unreadable.txt', 403, 'a file nginx may not read'],
  ['cached/unreadable.png', 403, 'an unreadable file under a cacheable rule'],
]

t.test('nginx error pages carry none of the download headers', async (t) => {
  for (const [path, status, what] of ERRORS) {
    for (const method of ['GET', 'HEAD']) {
      const from = gw.logs().length
      const res = await rawGet(port, `/download/${path}`, {}, { method })
      checkPlainError(t, res, status, `${method} ${what}`)
      if (method === 'GET') {
        t.match(res.body.toString('latin1'), /<center>nginx<\/center>/, `${what}: nginx's page`)
        t.notMatch(res.body.toString('latin1'), /NOBODY-MAY-READ/, `${what}: not a byte of the file`)
      }
      t.match(await lastDecision(from), { code: 'GW_ALLOW' }, `${what}: the gateway said yes`)
    }
  }
})

t.test('a Range request for a missing file is a plain 404 too', async (t) => {
  const res = await rawGet(port, '/download/cached/missing.png', { range: 'bytes=0-9' })
  checkPlainError(t, res, 404, 'Range on a missing file')
})

function checkDownload(t: Test, res: RawResponse, what: string, type: string, cache: string): void {
  t.equal(res.headers['content-type'], type, `${what}: the file's type`)
  t.match(res.headers['content-disposition'], /^attachment; filename="/, `${what}: disposition`)
  t.equal(res.headers['cache-control'], cache, `${what}: the rule's cache policy`)
  t.equal(res.headers['x-download-disposition'], undefined, `${what}: no carrier header`)
  t.equal(res.headers['x-download-cache-control'], undefined, `${what}: no carrier header`)
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
}

t.test('a download, a Range download and a HEAD still carry every download header', async (t) => {
  const whole = await rawGet(port, '/download/public/report.pdf')
  t.equal(whole.status, 200)
  t.ok(whole.body.equals(report), 'the whole file')
  checkDownload(t, whole, 'GET', 'application/pdf', 'private, no-store')
  t.equal(
    whole.headers['content-disposition'],
    `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
  )

  const part = await rawGet(port, '/download/public/report.pdf', { range: 'bytes=100-199' })
  t.equal(part.status, 206)
  t.ok(part.body.equals(report.subarray(100, 200)), 'exactly the range')
  checkDownload(t, part, 'Range', 'application/pdf', 'private, no-store')

  const head = await rawGet(port, '/download/cached/logo.png', {}, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], String(logo.length))
  checkDownload(t, head, 'HEAD', 'image/png', 'public, max-age=60')

  const cachedPart = await rawGet(port, '/download/cached/logo.png', { range: 'bytes=-10' })
  t.equal(cachedPart.status, 206)
  checkDownload(t, cachedPart, 'Range under a cacheable rule', 'image/png', 'public, max-age=60')
})

t.test('a 304 keeps the cache policy, which the revalidated copy needs, and has no type', async (t) => {
  const first = await rawGet(port, '/download/cached/logo.png')
  const etag = first.headers.etag as string
  t.ok(etag, 'nginx sends an ETag')
  const res = await rawGet(port, '/download/cached/logo.png', { 'if-none-match': etag })
  t.equal(res.status, 304)
  t.equal(res.body.length, 0)
  t.equal(res.headers['cache-control'], 'public, max-age=60')
  t.equal(res.headers['content-type'], undefined)
})
