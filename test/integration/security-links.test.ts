// Symlinks, hard links, FIFOs, sockets, device nodes and directories inside the served tree, in
// both delivery modes. The links sit in public/ (anyone may read that path) or in bob's own home,
// so the ACL says yes and only the file layer stands between the request and the target.
//
// Policy, the same in both modes:
// - symlinks are refused wherever they are: the last component or a directory above it, pointing
//   outside the tree, into another user's folder, at a harmless neighbour, nowhere (dangling) or
//   at themselves. nginx: `disable_symlinks on from=$document_root` (403, or 404 when dangling);
//   direct mode: O_NOFOLLOW plus a real-path check of the parent (404).
// - FIFOs, sockets, device nodes and directories are not content: refused (404), and a FIFO with
//   no writer must not hang the server that opens it.
// - a hard link IS the file: the file system cannot tell a link from the original, so it is
//   served, byte for byte, to whoever the ACL allows at the link's path. Creating a hard link in a
//   public folder publishes the file; that is an operator's act on the file system, like copying.
import { execFileSync } from 'node:child_process'
import { linkSync, mkdirSync, symlinkSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  DELIVERY_MODES,
  type DeliveryMode,
  type ModeScenario,
  startModeScenario,
} from '../harness/direct-scenario.js'
import { rawGet } from '../harness/http.js'
import { decisionAfter } from '../harness/response-checks.js'

const isRoot = process.getuid?.() === 0

interface Special {
  path: string
  what: string
  /** Bytes that must not appear in the answer. */
  target: (s: ModeScenario) => Buffer
  /** Who asks. */
  as: 'bob' | 'anonymous'
  /** nginx's own status when it is not a 403 or 404 (see the socket). */
  nginxStatus?: number
}

const hello = (s: ModeScenario) => s.files['public/hello.txt'] as Buffer
const aliceOwn = (s: ModeScenario) => s.files['home/alice/own.txt'] as Buffer
const q1 = (s: ModeScenario) => (s.files['reports/q1.pdf'] as Buffer).subarray(0, 64)

const REFUSED: Special[] = [
  {
    path: 'public/link-outside-abs',
    what: 'symlink to the secret outside the tree (absolute)',
    target: (s) => s.outsideSecret,
    as: 'anonymous',
  },
  {
    path: 'public/link-outside-rel',
    what: 'symlink to the secret outside the tree (relative)',
    target: (s) => s.outsideSecret,
    as: 'anonymous',
  },
  { path: 'public/link-alice', what: "symlink into alice's folder", target: aliceOwn, as: 'bob' },
  { path: 'home/bob/alice-file', what: "symlink in bob's home to alice's file", target: aliceOwn, as: 'bob' },
  {
    path: 'home/bob/alice-dir/own.txt',
    what: "symlinked directory in bob's home to alice's",
    target: aliceOwn,
    as: 'bob',
  },
  { path: 'public/reports-dir/q1.pdf', what: 'symlinked directory to reports/', target: q1, as: 'anonymous' },
  {
    path: 'public/outside-dir/secret.txt',
    what: 'symlinked directory outside the tree',
    target: (s) => s.outsideSecret,
    as: 'anonymous',
  },
  { path: 'public/link-hello', what: 'symlink to a public neighbour', target: hello, as: 'anonymous' },
  { path: 'public/dangling', what: 'dangling symlink', target: hello, as: 'anonymous' },
  { path: 'public/loop', what: 'symlink to itself', target: hello, as: 'anonymous' },
  {
    path: 'public/etc-passwd',
    what: 'symlink to /etc/passwd',
    target: () => Buffer.from('root:'),
    as: 'anonymous',
  },
  { path: 'public/fifo', what: 'FIFO with no writer', target: hello, as: 'anonymous' },
  // nginx's openat() of a socket fails with ENXIO, which it answers 500 (and logs [crit]): still
  // not a byte, but a 5xx an operator will see. Keep sockets out of the served tree.
  { path: 'public/socket', what: 'Unix socket', target: hello, as: 'anonymous', nginxStatus: 500 },
  { path: 'public/subdir', what: 'directory', target: hello, as: 'anonymous' },
  { path: 'public/dir.txt', what: 'directory named like a file', target: hello, as: 'anonymous' },
  { path: 'home/bob', what: "bob's home directory itself", target: hello, as: 'bob' },
]
if (isRoot) {
  REFUSED.push({
    path: 'public/null-device',
    what: 'character device (/dev/null)',
    target: hello,
    as: 'anonymous',
  })
}

const sockets: Server[] = []

async function prepareTree(root: string): Promise<void> {
  const p = (rel: string) => join(root, rel)
  mkdirSync(p('public/subdir'))
  mkdirSync(p('public/dir.txt'))
  symlinkSync('../home/alice/own.txt', p('public/link-alice'))
  symlinkSync('../alice/own.txt', p('home/bob/alice-file'))
  symlinkSync('../alice', p('home/bob/alice-dir'))
  symlinkSync('../reports', p('public/reports-dir'))
  symlinkSync('hello.txt', p('public/link-hello'))
  symlinkSync('does-not-exist.txt', p('public/dangling'))
  symlinkSync('loop', p('public/loop'))
  symlinkSync('/etc/passwd', p('public/etc-passwd'))
  execFileSync('mkfifo', [p('public/fifo')])
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(p('public/socket'), resolve))
  sockets.push(server)
  if (isRoot) execFileSync('mknod', [p('public/null-device'), 'c', '1', '3'])
  linkSync(p('reports/q1.pdf'), p('public/hard-report'))
  linkSync(p('home/alice/own.txt'), p('home/bob/hard-alice'))
}

/** Links to the outside secret need its folder, which only the running scenario knows. */
function linkOutside(s: ModeScenario): void {
  symlinkSync(join(s.outsideDir, 'secret.txt'), join(s.filesRoot, 'public/link-outside-abs'))
  symlinkSync(
    `../../${s.outsideDir.split('/').pop()}/secret.txt`,
    join(s.filesRoot, 'public/link-outside-rel'),
  )
  symlinkSync(s.outsideDir, join(s.filesRoot, 'public/outside-dir'))
}

for (const mode of DELIVERY_MODES) {
  t.test(`links and special files (${mode})`, async (t) => {
    await runLinks(t, mode)
  })
}

async function runLinks(t: Test, mode: DeliveryMode): Promise<void> {
  const s = await startModeScenario(mode, { prepareTree })
  t.teardown(async () => {
    await s.stop()
    for (const server of sockets.splice(0)) server.close()
  })
  linkOutside(s)
  const bob = await s.login('bob')
  const statuses = new Map<string, number>()

  for (const c of REFUSED) {
    await t.test(`${mode}: ${c.what} is refused`, async (t) => {
      const headers: Record<string, string> = c.as === 'bob' ? { cookie: bob } : {}
      const from = s.gateway.logs().length
      for (const method of ['GET', 'HEAD']) {
        const res = await rawGet(s.port, `/download/${c.path}`, headers, { method, timeoutMs: 5000 })
        statuses.set(`${res.status}`, (statuses.get(`${res.status}`) ?? 0) + 1)
        const refusals = mode === 'x-accel' && c.nginxStatus ? [c.nginxStatus] : [403, 404]
        t.ok(refusals.includes(res.status), `${method} ${c.path}: refused (${res.status})`)
        t.notOk(res.raw.includes(c.target(s)), `${method}: none of the target's bytes`)
        t.notOk(res.raw.includes(s.outsideSecret), `${method}: not the outside secret`)
        t.equal(res.headers.location, undefined, `${method}: no redirect`)
        t.notMatch(res.raw.toString('latin1'), /_protected/, `${method}: the internal prefix stays hidden`)
        // nginx's own error pages carry no download headers either: the gateway sends them under
        // names that do not survive the redirect (docs/nginx-behaviour.md §2), and the
        // internal location adds them back only on success.
        t.equal(res.headers['content-disposition'], undefined, `${method}: no download headers`)
        t.not(res.headers['cache-control'], 'private, no-store', `${method}: not the download's cache policy`)
      }
      // The gateway decided (allowed in x-accel mode, where nginx refuses; refused in direct mode).
      const line = await decisionAfter(s.gateway, from)
      if (mode === 'direct') {
        t.match(line, { code: /^GW_ERR_/ }, 'a decision log line')
        t.ok([403, 404].includes(line?.status as number), `logged with its status (${line?.status})`)
      } else t.match(line, { path: `/${c.path}` }, 'a decision log line')
    })
  }

  await t.test(`${mode}: a FIFO did not block the server`, async (t) => {
    const started = Date.now()
    const res = await rawGet(s.port, '/download/public/fifo', {}, { timeoutMs: 5000 })
    t.ok([403, 404].includes(res.status))
    t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`)
    t.equal((await rawGet(s.port, '/download/public/hello.txt')).status, 200, 'and still serves files')
  })

  await t.test(`${mode}: a hard link is the file itself, served where the ACL allows its path`, async (t) => {
    const report = s.files['reports/q1.pdf'] as Buffer
    const linked = await rawGet(s.port, '/download/public/hard-report', {}, { timeoutMs: 5000 })
    t.equal(linked.status, 200, 'public/ is open to anyone, so its hard link is served')
    t.ok(linked.body.equals(report), 'byte for byte the same inode')
    t.equal(
      (await rawGet(s.port, '/download/reports/q1.pdf', { cookie: bob })).status,
      403,
      'the original path stays denied',
    )
    const inBobsHome = await rawGet(s.port, '/download/home/bob/hard-alice', { cookie: bob })
    t.equal(inBobsHome.status, 200, "a hard link in bob's home is bob's to read")
    t.ok(inBobsHome.body.equals(s.files['home/alice/own.txt'] as Buffer))
    t.equal((await rawGet(s.port, '/download/home/bob/hard-alice')).status, 401, 'and nobody else')
  })

  t.comment(
    `${mode}: ${REFUSED.length} special paths x GET/HEAD refused { ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')} }; 2 hard links served${isRoot ? '' : ' (device node skipped: not root)'}`,
  )
}
