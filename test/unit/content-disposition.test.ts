import { parse } from 'content-disposition'
import t from 'tap'
import { asciiFallback, formatContentDisposition } from '../../src/delivery/content-disposition.js'

const names = [
  'report.pdf',
  'a b.txt',
  'naïve café.pdf',
  'cafe\u0301.txt',
  '日本語のファイル.csv',
  '100% "quoted" \\ back;semi,comma.txt',
  "it's (1) [x] {y} =z= @home.txt",
  'emoji 😀.png',
  '%2e%2e',
  'plus+hash#question?.txt',
]

t.test('content-disposition: every name parses back exactly with a standards-following parser', async (t) => {
  for (const name of names) {
    for (const type of ['attachment', 'inline'] as const) {
      const header = formatContentDisposition(type, name)
      const parsed = parse(header)
      t.equal(parsed.type, type, header)
      t.equal(parsed.parameters.filename, name, header)
    }
  }
})

t.test('content-disposition: the header is printable ASCII only', async (t) => {
  for (const name of names) t.match(formatContentDisposition('attachment', name), /^[\x20-\x7e]+$/)
})

t.test('content-disposition: the ASCII fallback drops accents and replaces the rest', async (t) => {
  t.equal(asciiFallback('naïve café.pdf'), 'naive cafe.pdf')
  t.equal(asciiFallback('cafe\u0301.txt'), 'cafe.txt')
  t.equal(asciiFallback('a"b\\c%d.txt'), 'a_b_c_d.txt')
  t.equal(asciiFallback('日本.csv'), '__.csv')
  t.equal(asciiFallback('😀'), '_')
})
