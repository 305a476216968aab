// Completed downloads through real nginx and Redis: one file downloaded fully, one aborted midway,
// one range fetched, one refused. nginx writes its side with the audit log format, the gateway its
// decision lines; `download-gateway audit` joins them into one record per download with the
// right user, bytes and completion.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli.js'
import { AUDIT_LOG_FORMAT } from '../../src/ops/audit.js'
import { startGateway } from '../harness/gateway.js'
import { rawGet } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import { sleep } from '../harness/process.js'
import { startRedis } from '../harness/redis.js'
import {
  loginAt,
  makeScenarioTree,
  SCENARIO_ACL,
  scenarioUsersYaml,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const logDir = await mkdtemp(join(tmpdir(), 'gw-audit-'))
t.teardown(() => rm(logDir, { recursive: true, force: true }))
const auditLog = join(logDir, 'audit.log')
const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const redis = await startRedis()
t.teardown(() => redis.stop())
const gateway = await startGateway({
  configYaml: X_ACCEL_REDIS_CONFIG,
  aclFiles: { '10-test.yaml': SCENARIO_ACL },
  usersYaml: await scenarioUsersYaml(),
  filesRoot: tree.root,
  redisUrl: redis.url,
})
t.teardown(() => gateway.stop())
const nginx = await startNginx({
  gatewayPort: gateway.port,
  filesRoot: tree.root,
  extraHttpConfig: `    ${AUDIT_LOG_FORMAT}\n    access_log ${auditLog} download_audit;`,
})
t.teardown(() => nginx.stop())

/** Sends a GET and hangs up as soon as the first body bytes arrive. */
function abortAfterFirstBytes(path: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: nginx.port, host: '127.0.0.1' })
    let received = 0
    socket.once('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\n\r\n`),
    )
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      const text = chunk.toString('latin1')
      const headerEnd = text.indexOf('\r\n\r\n')
      if (received > 0 && (headerEnd < 0 || headerEnd + 4 < chunk.length)) {
        socket.destroy()
        resolve(received)
      }
    })
    socket.once('error', reject)
  })
}

async function auditLines(): Promise<string[]> {
  try {
    // The logins are in the log too: the joiner keeps the download prefix only, and so does this.
    return (await readFile(auditLog, 'utf8')).split('\n').filter((l) => l.includes('"uri":"/download/'))
  } catch {
    return []
  }
}

t.test('full, aborted, range and refused downloads: one record each, told apart', async (t) => {
  const alice = await loginAt(nginx.baseUrl, 'alice')
  const bob = await loginAt(nginx.baseUrl, 'bob')
  const report = tree.files['reports/q1.pdf'] as Buffer
  const slow = tree.files['slow/big.bin'] as Buffer

  const full = await rawGet(nginx.port, '/download/reports/q1.pdf', { cookie: alice })
  t.equal(full.status, 200)
  t.equal(full.body.length, report.length)
  const range = await rawGet(nginx.port, '/download/reports/q1.pdf', { cookie: alice, range: 'bytes=0-999' })
  t.equal(range.status, 206)
  t.equal(range.body.length, 1000)
  // limit_rate 1k: nginx sends the 3000 bytes over about three seconds, so hanging up after the
  // first bytes leaves most of the file unsent.
  await abortAfterFirstBytes('/download/slow/big.bin', alice)
  const refused = await rawGet(nginx.port, '/download/reports/q1.pdf', { cookie: bob })
  t.equal(refused.status, 403)

  // nginx logs the aborted one when its next write fails: within the rate's next second.
  for (let i = 0; i < 100 && (await auditLines()).length < 4; i++) await sleep(100)
  t.equal((await auditLines()).length, 4, 'nginx logged four downloads')

  const decisions = join(logDir, 'gateway.log')
  await writeFile(decisions, gateway.logText())
  const out: string[] = []
  const err: string[] = []
  const code = await main(['audit', '--decisions', decisions, '--nginx', auditLog], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  })
  t.equal(code, 0, err.join('\n'))
  const records = out.map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(records.length, 4)
  const [r1, r2, r3, r4] = records
  t.match(r1, {
    user: 'alice',
    path: '/reports/q1.pdf',
    rule: /^reports@/,
    code: 'GW_ALLOW',
    status: 200,
    bytes: report.length,
    range: null,
    outcome: 'complete',
  })
  t.match(r2, { user: 'alice', status: 206, bytes: 1000, range: 'bytes=0-999', outcome: 'partial' })
  t.match(r3, { user: 'alice', path: '/slow/big.bin', status: 200, outcome: 'aborted' })
  t.ok((r3?.bytes as number) < slow.length, `aborted: ${r3?.bytes} of ${slow.length} bytes sent`)
  t.match(r4, { user: 'bob', code: 'GW_ERR_DENIED', status: 403, outcome: 'refused' })
  for (const r of records) t.match(r.reqId, /^[0-9a-f]{32}$/, "joined by nginx's request id")
})

t.test('audit: usage errors and the printed format', async (t) => {
  const out: string[] = []
  const err: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }
  t.equal(await main(['audit', '--nginx', auditLog], io), 2)
  t.match(err.join('\n'), /--decisions and --nginx are required/)
  t.equal(await main(['audit', '--print-format'], io), 0)
  t.equal(out.at(-1), AUDIT_LOG_FORMAT)
})
