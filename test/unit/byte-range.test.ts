import t from 'tap'
import { resolveRange } from '../../src/delivery/byte-range.js'

t.test('byte range: no header means the whole file', async (t) => {
  t.same(resolveRange(100, undefined), { kind: 'whole' })
})
t.test('byte range: one range gives its bytes, clamped to the file', async (t) => {
  t.same(resolveRange(100, 'bytes=2-5'), { kind: 'partial', start: 2, end: 5 })
  t.same(resolveRange(100, 'bytes=90-'), { kind: 'partial', start: 90, end: 99 })
  t.same(resolveRange(100, 'bytes=-10'), { kind: 'partial', start: 90, end: 99 })
  t.same(resolveRange(100, 'bytes=50-500'), { kind: 'partial', start: 50, end: 99 })
})
t.test('byte range: a range past the end is unsatisfiable', async (t) => {
  t.same(resolveRange(100, 'bytes=100-200'), { kind: 'unsatisfiable' })
})
t.test('byte range: malformed headers and several ranges are answered whole', async (t) => {
  t.same(resolveRange(100, 'bytes=abc'), { kind: 'whole' })
  t.same(resolveRange(100, 'items=1-2'), { kind: 'whole' })
  t.same(resolveRange(100, 'bytes=0-1,50-60'), { kind: 'whole' })
})
