// What a download sees when the files change under a running nginx. The template keeps recently
// sent files open for a second (open_file_cache, for speed: issue 5), and documents the trade:
// - a new file is served at once (failed lookups are never kept);
// - a file replaced by rename, or deleted, may still be served whole in its old version for about
//   a second, then the change shows;
// - the cache never makes nginx follow a symlink: a file swapped for a symlink to a secret gives
//   the old file or a refusal, never the secret, and a refusal once the second has passed.
import { randomBytes } from 'node:crypto'
import { renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sleep } from '../harness/process.js'
import { type Scenario, startScenario } from '../harness/scenario.js'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const { nginx, filesRoot, outsideSecret } = scenario

// open_file_cache_valid is 1 s and nginx's clock ticks in whole seconds, so a change shows within
// 2 s; waiting a little longer keeps the test honest without making it flaky.
const SETTLE_MS = 2_500

async function download(name: string) {
  const res = await fetch(`${nginx.baseUrl}/download/public/${name}`)
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

t.test('a file created after nginx looked for it is served at once', async (t) => {
  const name = `new-${randomBytes(4).toString('hex')}.bin`
  t.equal((await download(name)).status, 404, 'not there yet')
  const bytes = randomBytes(5000)
  writeFileSync(join(filesRoot, 'public', name), bytes)
  const res = await download(name)
  t.equal(res.status, 200)
  t.ok(res.body.equals(bytes), 'the new bytes, with no wait')
})

t.test('a file replaced by rename is served whole, old or new, and new after a second', async (t) => {
  const name = `renamed-${randomBytes(4).toString('hex')}.bin`
  const path = join(filesRoot, 'public', name)
  const v1 = randomBytes(50_000)
  const v2 = randomBytes(60_000)
  writeFileSync(path, v1)
  t.ok((await download(name)).body.equals(v1), 'v1 served (and now kept open)')
  writeFileSync(`${path}.tmp`, v2)
  renameSync(`${path}.tmp`, path)
  const right = await download(name)
  t.equal(right.status, 200)
  t.ok(right.body.equals(v1) || right.body.equals(v2), 'right after the rename: one whole version')
  await sleep(SETTLE_MS)
  t.ok((await download(name)).body.equals(v2), 'v2 once the second has passed')
})

t.test('a deleted file stops being served within a second or two', async (t) => {
  const name = `deleted-${randomBytes(4).toString('hex')}.bin`
  const path = join(filesRoot, 'public', name)
  writeFileSync(path, randomBytes(3000))
  t.equal((await download(name)).status, 200)
  rmSync(path)
  await sleep(SETTLE_MS)
  t.equal((await download(name)).status, 404)
})

t.test('a file swapped for a symlink never gives the link target', async (t) => {
  const name = `swapped-${randomBytes(4).toString('hex')}.txt`
  const path = join(filesRoot, 'public', name)
  const original = Buffer.from('harmless original\n')
  writeFileSync(path, original)
  t.ok((await download(name)).body.equals(original))
  rmSync(path)
  symlinkSync(join(scenario.outsideDir, 'secret.txt'), path)
  const right = await download(name)
  t.notOk(right.body.includes(outsideSecret), 'right after the swap: not the secret')
  t.ok(right.status !== 200 || right.body.equals(original), 'the old file or a refusal')
  await sleep(SETTLE_MS)
  const later = await download(name)
  t.notOk(later.body.includes(outsideSecret), 'later: not the secret')
  t.ok(later.status === 403 || later.status === 404, `later: refused (${later.status})`)
})
