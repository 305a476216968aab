// The benchmarks' summary of rounds: per-round ratios, then their median and range.
import t from 'tap'
import { ratioSummary } from '../../bench/rounds.js'

t.test('rounds: each ratio is taken inside its round, then summarised', async (t) => {
  // Round by round: 0.9, 0.5 and 1.2. The totals (47 against 55.8) would say 0.84, and no range.
  t.same(ratioSummary([18, 10, 19], [20, 20, 15.833333333333334]), {
    median: 0.9,
    min: 0.5,
    max: 1.2,
  })
})

t.test('rounds: with an even count the median is the upper of the two middle ratios', async (t) => {
  t.equal(ratioSummary([1, 2, 3, 4], [1, 1, 1, 1]).median, 3)
  t.equal(ratioSummary([7], [2]).median, 3.5, 'one round is its own median')
})

t.test('rounds: rounds that do not pair up are an error, not a figure', async (t) => {
  t.throws(() => ratioSummary([1, 2], [1]), /2 rounds against 1/)
  t.throws(() => ratioSummary([], []), /at least one/)
})
