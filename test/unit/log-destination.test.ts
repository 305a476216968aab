import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LogDestination } from '../../src/log-destination.js'

function file() {
  const dir = mkdtempSync(join(tmpdir(), 'gw-log-'))
  const path = join(dir, 'out.log')
  const fd = openSync(path, 'w')
  t.teardown(() => {
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  })
  return { fd, read: () => readFileSync(path, 'utf8') }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('log destination: every line arrives whole and in order, in few writes', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 4096, flushMs: 20 })
  const lines = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${'é'.repeat(i % 50)}"}\n`)
  for (const [i, line] of lines.entries()) {
    d.write(line)
    if (i % 100 === 0) await new Promise((r) => setImmediate(r))
  }
  await sleep(100)
  t.equal(f.read(), lines.join(''))
  t.equal(d.dropped, 0)
})

t.test('log destination: a lone line is written within flushMs', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 1 << 20, flushMs: 20 })
  d.write('one\n')
  t.equal(f.read(), '', 'not at once')
  await sleep(80)
  t.equal(f.read(), 'one\n')
})

t.test('log destination: flush waits for the write in flight, then writes the rest', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 10, flushMs: 10_000 })
  d.write('first line, long enough to start a write\n')
  d.write('second\n')
  await new Promise<void>((resolve) => d.flush(() => resolve()))
  t.equal(f.read(), 'first line, long enough to start a write\nsecond\n')
  await sleep(30)
  t.equal(f.read(), 'first line, long enough to start a write\nsecond\n', 'and nothing twice')
})

t.test('log destination: flushSync writes what is gathered at once', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 1 << 20, flushMs: 10_000 })
  d.write('a\n')
  d.write('b\n')
  d.flushSync()
  t.equal(f.read(), 'a\nb\n')
})

t.test('log destination: past maxPendingBytes lines are dropped and counted, never buffered', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 1 << 20, flushMs: 10_000, maxPendingBytes: 10 })
  t.equal(d.write('0123456789ab\n'), true)
  t.equal(d.write('dropped\n'), false)
  t.equal(d.dropped, 1)
  d.flushSync()
  t.equal(f.read(), '0123456789ab\n')
})

t.test('log destination: a line longer than a buffer keeps its place among short ones', async (t) => {
  const f = file()
  const d = new LogDestination(f.fd, { flushBytes: 64, flushMs: 10 })
  const lines = ['short 1\n', `${'x'.repeat(200)}\n`, 'short 2\n', `${'ü'.repeat(30)}\n`, 'short 3\n']
  for (let round = 0; round < 50; round++) for (const line of lines) d.write(line)
  await new Promise<void>((resolve) => d.flush(() => resolve()))
  t.equal(f.read(), lines.join('').repeat(50))
})
