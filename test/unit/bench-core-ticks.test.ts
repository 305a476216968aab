// The benchmark's busy columns: which share of a round each core worked, from /proc/stat.
import t from 'tap'
import { busyShare, coreTicks, parseCoreTicks } from '../../bench/core-ticks.js'

// Columns: user nice system idle iowait irq softirq steal guest guest_nice
const BEFORE = `cpu  300 0 200 900 10 0 50 0 0 0
cpu0 100 0 100 400 5 0 40 5 0 0
cpu1 200 0 100 500 5 0 10 0 0 0
intr 12345
`
const AFTER = `cpu  500 0 300 1000 10 0 100 0 0 0
cpu0 150 0 140 410 5 0 85 10 0 0
cpu1 350 0 160 590 5 0 15 0 0 0
intr 23456
`

t.test(
  'core ticks: busy is user, nice, system, irq and softirq; idle, iowait and steal are not',
  async (t) => {
    t.same(parseCoreTicks(BEFORE, '0'), { busy: 240, total: 650 })
    t.same(parseCoreTicks(BEFORE, '1'), { busy: 310, total: 815 })
    // "cpu1" must not be read from the line of cpu10 or of the whole machine ("cpu ")
    t.same(parseCoreTicks(`cpu10 1 1 1 1 1 1 1 1 0 0\n${BEFORE}`, '1'), { busy: 310, total: 815 })
  },
)

t.test('core ticks: the busy share between two readings', async (t) => {
  // cpu0: busy 240 -> 375 (+135) out of 650 -> 800 (+150) ticks
  t.equal(busyShare(parseCoreTicks(BEFORE, '0'), parseCoreTicks(AFTER, '0')), 0.9)
  // cpu1: busy 310 -> 525 (+215) out of 815 -> 1120 (+305)
  t.equal(busyShare(parseCoreTicks(BEFORE, '1'), parseCoreTicks(AFTER, '1')), 215 / 305)
  t.equal(busyShare(parseCoreTicks(BEFORE, '0'), parseCoreTicks(BEFORE, '0')), 0, 'no tick passed')
})

t.test('core ticks: a core the machine does not have is an error, not a zero', async (t) => {
  t.throws(() => parseCoreTicks(BEFORE, '7'), /no line for cpu7/)
})

t.test('core ticks: this machine reads as counters that only grow', async (t) => {
  const first = coreTicks('0')
  t.ok(first.total > 0 && first.busy >= 0 && first.busy <= first.total)
  let spin = 0
  const until = Date.now() + 30
  while (Date.now() < until) spin++
  const second = coreTicks('0')
  t.ok(second.total >= first.total && second.busy >= first.busy, `after ${spin} spins`)
})
