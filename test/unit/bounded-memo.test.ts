// The one bounded memo the verifiers and decoders share: what was set is got back, it never holds
// more than its bound, and when full the entry stored first is the one that goes.
import t from 'tap'
import { BoundedMemo } from '../../src/bounded-memo.js'

t.test('bounded memo: gets what was set, nothing else', async (t) => {
  const memo = new BoundedMemo<string, number>(3)
  t.equal(memo.get('a'), undefined)
  memo.set('a', 1)
  memo.set('b', 2)
  t.equal(memo.get('a'), 1)
  t.equal(memo.get('b'), 2)
  t.equal(memo.get('c'), undefined)
  t.equal(memo.size, 2)
  memo.clear()
  t.equal(memo.size, 0)
  t.equal(memo.get('a'), undefined, 'cleared')
})

t.test('bounded memo: full, the oldest entry goes first, the others stay', async (t) => {
  const memo = new BoundedMemo<string, number>(3)
  memo.set('a', 1)
  memo.set('b', 2)
  memo.set('c', 3)
  t.equal(memo.get('a'), 1, 'a hit does not make an entry younger')
  memo.set('d', 4)
  t.equal(memo.size, 3, 'never above its bound')
  t.equal(memo.get('a'), undefined, 'the first stored went')
  t.same([memo.get('b'), memo.get('c'), memo.get('d')], [2, 3, 4], 'the rest stay')
  memo.set('e', 5)
  t.equal(memo.get('b'), undefined, 'then the next oldest')
  t.equal(memo.get('c'), 3)
})

t.test('bounded memo: setting a key it holds replaces the value and evicts nothing', async (t) => {
  const memo = new BoundedMemo<string, number>(2)
  memo.set('a', 1)
  memo.set('b', 2)
  memo.set('b', 20)
  t.equal(memo.size, 2)
  t.equal(memo.get('a'), 1)
  t.equal(memo.get('b'), 20)
})

t.test('bounded memo: stays at its bound under many distinct keys', async (t) => {
  const memo = new BoundedMemo<number, number>(100)
  for (let i = 0; i < 10_000; i++) memo.set(i, i)
  t.equal(memo.size, 100)
  t.equal(memo.get(9_899), undefined)
  t.equal(memo.get(9_900), 9_900, 'exactly the last hundred kept')
  t.equal(memo.get(9_999), 9_999)
})

t.test('bounded memo: a bound below one is a programming error', async (t) => {
  t.throws(() => new BoundedMemo(0), RangeError)
  t.throws(() => new BoundedMemo(1.5), RangeError)
})
