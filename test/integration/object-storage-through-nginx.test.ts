// Files in a bucket, through the real nginx template: the gateway decides as for any file, signs a
// URL for the object, and nginx fetches it from an S3-compatible server on loopback that checks
// every signature. A root on disk sits beside the bucket root in the same config. The secret key
// must never leave the gateway: every header and every log line of the run is searched for it.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { presignedObjectUrl } from '../../src/delivery/object-roots.js'
import { makeFileTree } from '../harness/files.js'
import { type RunningGateway, startGateway } from '../harness/gateway.js'
import { get, type RawResponse, rawGet } from '../harness/http.js'
import { type NginxServer, startNginx } from '../harness/nginx.js'
import { type S3Server, startS3Server } from '../harness/s3.js'

const ACCESS_KEY_ID = 'AKIAGATEWAYTEST00001'
// As AWS makes them: 40 characters of base64, '/' and '+' included, which URL encoding would change.
const SECRET_ACCESS_KEY = `${randomBytes(27).toString('base64').slice(0, 36)}/+/+`
const BUCKET = 'archive-bucket'

const config = (endpoint: string) => `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
  roots:
    - name: archive
      prefix: archive/
      s3:
        bucket: ${BUCKET}
        endpoint: ${endpoint}
        addressing: path
        key_prefix: files/
session:
  store: memory
  cookie_name: sid
acl:
  paths: [acl.d]
  watch: false
`

const ACL = `rules:
  - id: archive-secret
    path: /archive/secret/**
    deny: anyone
  - id: archive
    path: /archive/**
    allow: anyone
  - id: public
    path: /public/**
    allow: anyone
  - id: archived
    path: /archived/**
    allow: anyone
`

const report = randomBytes(300_000)
const large = randomBytes(6 * 1024 * 1024)
const HOSTILE = [
  'with space.txt',
  'plus+sign.txt',
  '100%.txt',
  '%2e%2e',
  'what?.txt',
  'hash#tag.txt',
  "bang!quote'paren(star)*.txt",
  'semi;colon=eq&amp.txt',
  'caf\u00e9 \u65e5\u672c\u8a9e \u{1f600}.txt',
  'sub dir/n\u00e4sted + deeper.txt',
]

const tree = await makeFileTree({
  'public/local.txt': 'FROM-THE-DISK',
  'archived/not-the-bucket.txt': 'ALSO-FROM-THE-DISK',
})
t.teardown(() => tree.cleanup())

let s3: S3Server | undefined
let gateway: RunningGateway | undefined
let nginx: NginxServer | undefined
let wrongGateway: RunningGateway | undefined
let wrongNginx: NginxServer | undefined
t.teardown(async () => {
  await wrongNginx?.stop()
  await wrongGateway?.stop()
  await nginx?.stop()
  await gateway?.stop()
  await s3?.stop()
})

s3 = await startS3Server({
  buckets: [BUCKET],
  accessKeyId: ACCESS_KEY_ID,
  secretAccessKey: SECRET_ACCESS_KEY,
})
await s3.put(BUCKET, 'files/report.pdf', report)
await s3.put(BUCKET, 'files/large.bin', large)
await s3.put(BUCKET, 'files/secret/plans.txt', 'DENIED-BY-THE-RULES')
await s3.put(BUCKET, 'files/stored-headers.txt', 'STORED-WITH-ITS-OWN-HEADERS', {
  'content-type': 'text/html',
  'content-disposition': 'inline; filename="evil.html"',
  'cache-control': 'public, max-age=31536000',
})
for (const name of HOSTILE) await s3.put(BUCKET, `files/${name}`, `BODY OF ${name}`)

gateway = await startGateway({
  configYaml: config(s3.endpoint),
  aclFiles: { '10-test.yaml': ACL },
  filesRoot: tree.root,
  env: {
    GATEWAY_S3_ARCHIVE_ACCESS_KEY_ID: ACCESS_KEY_ID,
    GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  },
})
nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
const port = nginx.port

/** Every header any client of this run was sent, checked for the secret at the end. */
const seenHeaders: string[] = []
async function fetchRaw(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> {
  const res = await rawGet(port, path, headers, { method, timeoutMs: 15_000 })
  seenHeaders.push(JSON.stringify(res.headers))
  return res
}

const encodePath = (name: string) => name.split('/').map(encodeURIComponent).join('/')

function noLeaks(t: Test, res: RawResponse): void {
  const names = Object.keys(res.headers)
  t.same(
    names.filter((n) => n.startsWith('x-amz-') || n.startsWith('x-accel-') || n.startsWith('x-download-')),
    [],
    'no bucket, X-Accel or gateway-internal header reaches the client',
  )
  t.equal(res.headers['set-cookie'], undefined, 'no cookie')
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'one nosniff, from nginx')
}

function noDownloadHeaders(t: Test, res: RawResponse): void {
  t.equal(res.headers['content-disposition'], undefined, 'no Content-Disposition on an error')
  t.not(res.headers['cache-control'], 'private, no-store', "no download's Cache-Control on an error")
  t.notMatch(
    res.body.toString('latin1'),
    new RegExp(`${BUCKET}|NoSuchKey|<Error>`),
    "the bucket's XML error stays inside",
  )
}

t.test('a whole object: the bytes, the gateway headers, nothing of the bucket', async (t) => {
  const res = await fetchRaw('/download/archive/report.pdf')
  t.equal(res.status, 200)
  t.ok(res.body.equals(report), 'the exact bytes')
  t.equal(res.headers['content-type'], 'application/pdf')
  t.equal(
    res.headers['content-disposition'],
    `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
  )
  t.equal(res.headers['cache-control'], 'private, no-store')
  t.equal(res.headers['content-length'], String(report.length))
  t.equal(res.headers['accept-ranges'], 'bytes')
  noLeaks(t, res)
})

t.test('a range: 206 with exactly those bytes', async (t) => {
  const res = await fetchRaw('/download/archive/report.pdf', { Range: 'bytes=1000-1999' })
  t.equal(res.status, 206)
  t.ok(res.body.equals(report.subarray(1000, 2000)), 'bytes 1000-1999')
  t.equal(res.headers['content-range'], `bytes 1000-1999/${report.length}`)
  t.match(res.headers['content-disposition'], /^attachment;/)
  // Open-ended: a resumed download. (Suffix ranges, bytes=-N, are passed on the same way; the test
  // server reads them wrongly, real S3 and MinIO do not.)
  const rest = await fetchRaw('/download/archive/report.pdf', { Range: `bytes=${report.length - 10}-` })
  t.equal(rest.status, 206)
  t.ok(rest.body.equals(report.subarray(report.length - 10)), 'the last 10 bytes')
})

t.test('HEAD is signed as HEAD: the length, no body', async (t) => {
  const res = await fetchRaw('/download/archive/report.pdf', {}, 'HEAD')
  t.equal(res.status, 200)
  t.equal(res.headers['content-length'], String(report.length))
  t.equal(res.body.length, 0)
  t.equal(res.headers['content-type'], 'application/pdf')
})

t.test("the gateway's headers win over what the object was stored with", async (t) => {
  const res = await fetchRaw('/download/archive/stored-headers.txt')
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'STORED-WITH-ITS-OWN-HEADERS')
  t.match(res.headers['content-type'], /^text\/plain/, 'not the stored text/html')
  t.equal(
    res.headers['content-disposition'],
    `attachment; filename="stored-headers.txt"; filename*=UTF-8''stored-headers.txt`,
  )
  t.equal(res.headers['cache-control'], 'private, no-store', "one Cache-Control, the rule's")
})

t.test('a missing object: a plain 404 without download headers', async (t) => {
  const res = await fetchRaw('/download/archive/no-such-report.pdf')
  t.equal(res.status, 404)
  noDownloadHeaders(t, res)
  noLeaks(t, res)
})

t.test('hostile object names reach the bucket encoded as S3 signs them', async (t) => {
  for (const name of HOSTILE) {
    const res = await fetchRaw(`/download/archive/${encodePath(name)}`)
    t.equal(res.status, 200, name)
    t.equal(res.body.toString(), `BODY OF ${name}`, name)
  }
})

t.test('the decision is the same under a bucket prefix: a denied object is never fetched', async (t) => {
  const res = await fetchRaw('/download/archive/secret/plans.txt')
  t.equal(res.status, 401, 'anonymous, denied by rule archive-secret')
  t.notMatch(res.body.toString(), /DENIED-BY-THE-RULES/)
  t.equal(res.headers['content-disposition'], undefined)
})

t.test('the disk root beside the bucket root; a prefix is a whole folder', async (t) => {
  const local = await fetchRaw('/download/public/local.txt')
  t.equal(local.status, 200)
  t.equal(local.body.toString(), 'FROM-THE-DISK')
  const archived = await fetchRaw('/download/archived/not-the-bucket.txt')
  t.equal(archived.status, 200, '"archived/" is not under "archive/"')
  t.equal(archived.body.toString(), 'ALSO-FROM-THE-DISK')
})

t.test('a large object is streamed, never spooled to a temporary file', async (t) => {
  // A client that waits before reading: nginx fills its buffers and must stop reading the bucket
  // rather than write the rest to disk (it logs a warning when it does).
  const res = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request(`${nginx?.baseUrl}/download/archive/large.bin`, { agent: false }, (r) => {
        r.pause()
        setTimeout(() => {
          const chunks: Buffer[] = []
          r.on('data', (c: Buffer) => chunks.push(c))
          r.once('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }))
          r.resume()
        }, 1500)
      })
      req.once('error', reject)
      req.end()
    }, reject)
  })
  t.equal(res.status, 200)
  t.ok(res.body.equals(large), `all ${large.length} bytes`)
  t.notMatch(nginx?.errorLog() ?? '', /buffered to a temporary file/, 'no temporary file')
})

t.test('the S3 server refuses a tampered or expired presigned URL', async (t) => {
  // The URL the gateway hands nginx, read from the gateway itself (nginx never passes it on).
  const direct = await rawGet(gateway?.port as number, '/download/archive/report.pdf')
  seenHeaders.push(JSON.stringify(direct.headers))
  const url = direct.headers['x-download-object-url'] as string
  t.match(url, new RegExp(`^${s3?.endpoint}/${BUCKET}/files/report\\.pdf\\?`))
  t.notMatch(url, new RegExp(SECRET_ACCESS_KEY.replace(/[+/]/g, '.')), 'the URL does not carry the secret')
  const ok = await get(url)
  t.equal(ok.status, 200, 'as signed: served')
  t.ok(ok.body.equals(report))

  const lastHex = url.at(-1) === '0' ? '1' : '0'
  const badSignature = await get(`${url.slice(0, -1)}${lastHex}`)
  t.equal(badSignature.status, 403, 'one hex digit of the signature changed')
  t.match(badSignature.body.toString(), /SignatureDoesNotMatch/)

  const otherKey = await get(url.replace('/files/report.pdf?', '/files/secret/plans.txt?'))
  t.equal(otherKey.status, 403, 'the signature names one object')

  const otherType = await get(
    url.replace('response-content-type=application%2Fpdf', 'response-content-type=text%2Fhtml'),
  )
  t.equal(otherType.status, 403, 'the response type is signed too')

  const root = gateway?.config.delivery.roots[0]
  if (root === undefined) throw new Error('no root in the config')
  const expired = presignedObjectUrl(
    { root, key: 'files/report.pdf', below: ['report.pdf'] },
    'GET',
    'application/pdf',
    new Date(Date.now() - (root.expiresSeconds + 5) * 1000),
  )
  const late = await get(expired)
  t.equal(late.status, 403, 'signed longer ago than it is valid')
  t.match(late.body.toString(), /expired/)
})

t.test('a gateway with the wrong secret: the bucket refuses, the client gets a clean 502', async (t) => {
  wrongGateway = await startGateway({
    configYaml: config(s3?.endpoint as string),
    aclFiles: { '10-test.yaml': ACL },
    filesRoot: tree.root,
    env: {
      GATEWAY_S3_ARCHIVE_ACCESS_KEY_ID: ACCESS_KEY_ID,
      GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY: 'not-the-secret-not-the-secret-not-the-secr',
    },
  })
  wrongNginx = await startNginx({ gatewayPort: wrongGateway.port, filesRoot: tree.root })
  const res = await rawGet(wrongNginx.port, '/download/archive/report.pdf', {}, { timeoutMs: 15_000 })
  seenHeaders.push(JSON.stringify(res.headers))
  t.equal(res.status, 502)
  noDownloadHeaders(t, res)
  noLeaks(t, res)
  t.notMatch(res.body.toString(), /SignatureDoesNotMatch|StringToSign/)
})

t.test('the secret key is in no header and no log line', async (t) => {
  const logs = [
    gateway?.logText() ?? '',
    wrongGateway?.logText() ?? '',
    nginx?.errorLog() ?? '',
    readFileSync(join(nginx?.dir as string, 'access.log'), 'utf8'),
    wrongNginx?.errorLog() ?? '',
    s3?.output() ?? '',
  ].join('\n')
  t.ok(logs.includes('/download/archive/report.pdf'), 'the logs were captured')
  t.ok(seenHeaders.length > 20, 'the headers were captured')
  for (const form of [
    SECRET_ACCESS_KEY,
    encodeURIComponent(SECRET_ACCESS_KEY),
    SECRET_ACCESS_KEY.slice(0, 20),
  ]) {
    t.notOk(logs.includes(form), 'not in the logs')
    t.notOk(
      seenHeaders.some((h) => h.includes(form)),
      'not in a header',
    )
  }
})
