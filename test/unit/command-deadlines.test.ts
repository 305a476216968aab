// The shared command timeout of the download path's session reads: each read expires once, after
// the timeout, unless answered first; an answered read is never expired and is let go at once.
import t from 'tap'
import { CommandDeadlines } from '../../src/redis/command-deadlines.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('command deadlines: an unanswered read expires once, after the timeout', async (t) => {
  const q = new CommandDeadlines(40)
  const expired: string[] = []
  const started = performance.now()
  const a = q.watch(() => expired.push('a'))
  await sleep(15)
  q.watch(() => expired.push('b'))
  await sleep(35)
  t.same(expired, ['a'], 'the first read expired, the second not yet')
  t.ok(performance.now() - started >= 40)
  t.equal(q.settle(a), false, 'an answer after expiry does not count')
  await sleep(30)
  t.same(expired, ['a', 'b'], 'each read on its own deadline')
  t.equal(q.open, 0)
})

t.test('command deadlines: an answered read never expires and leaves the queue', async (t) => {
  const q = new CommandDeadlines(20)
  let expired = 0
  const reads = Array.from({ length: 5 }, () => q.watch(() => expired++))
  t.equal(q.open, 5)
  // Out of order first: the front holds the rest until it is answered.
  t.equal(q.settle(reads[2] as never), true)
  t.equal(q.settle(reads[2] as never), false, 'answered once only')
  t.equal(q.open, 4)
  for (const r of [reads[0], reads[1], reads[3]]) t.equal(q.settle(r as never), true)
  t.equal(q.open, 1)
  await sleep(50)
  t.equal(expired, 1, 'only the read left unanswered expired')
  t.equal(q.open, 0)
})

t.test('command deadlines: reads keep being timed after the queue ran empty', async (t) => {
  const q = new CommandDeadlines(10)
  let expired = 0
  q.settle(q.watch(() => expired++))
  await sleep(30)
  q.watch(() => expired++)
  await sleep(40)
  t.equal(expired, 1)
})
