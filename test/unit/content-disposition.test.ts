import { parse } from 'content-disposition'
import fc from 'fast-check'
import t from 'tap'
import {
  asciiFallback,
  formatContentDisposition,
  MAX_SUGGESTED_NAME_BYTES,
  shortenFileName,
} from '../../src/delivery/content-disposition.js'

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

const bytes = (s: string) => Buffer.byteLength(s, 'utf8')

/** The ASCII `filename=` alone, as curl -OJ reads it: the same header without its `filename*`. */
function fallbackOf(header: string): string {
  const parsed = parse(header.replace(/; filename\*=.*$/, ''))
  return parsed.parameters.filename as string
}

t.test('content-disposition: a name that fits is never shortened', async (t) => {
  const fits = `${'a'.repeat(MAX_SUGGESTED_NAME_BYTES - 4)}.pdf`
  t.equal(shortenFileName(fits), fits)
  t.equal(parse(formatContentDisposition('attachment', fits)).parameters.filename, fits)
  const accented = `${'é'.repeat((MAX_SUGGESTED_NAME_BYTES - 4) / 2)}.pdf`
  t.equal(bytes(accented), MAX_SUGGESTED_NAME_BYTES)
  t.equal(shortenFileName(accented), accented)
})

t.test('content-disposition: a long name keeps its extension and is cut to the limit', async (t) => {
  const ascii = `${'a'.repeat(250)}.pdf`
  const short = shortenFileName(ascii)
  t.equal(short, `${'a'.repeat(MAX_SUGGESTED_NAME_BYTES - 4)}.pdf`)
  const header = formatContentDisposition('attachment', ascii)
  t.equal(parse(header).parameters.filename, short)
  t.equal(fallbackOf(header), short)
  // 2-byte letters: the cut falls between two of them, never inside one.
  const accented = `${'é'.repeat(127)}.txt`
  t.equal(bytes(accented), 258)
  t.equal(shortenFileName(accented), `${'é'.repeat(118)}.txt`)
  // 4-byte emoji: 236 bytes of stem hold 59 of them.
  t.equal(shortenFileName(`${'😀'.repeat(70)}.png`), `${'😀'.repeat(59)}.png`)
})

t.test('content-disposition: a grapheme is not split where the cut falls inside it', async (t) => {
  // e + U+0301 (3 bytes): 236 bytes of stem hold 78 whole ones (234 bytes), not 78 and a bare e.
  const decomposed = `${'e\u0301'.repeat(90)}.txt`
  const short = shortenFileName(decomposed)
  t.equal(short, `${'e\u0301'.repeat(78)}.txt`)
  // One grapheme longer than the whole budget still yields a name, cut between code points.
  const zalgo = `z${'\u0301'.repeat(200)}.txt`
  const cut = shortenFileName(zalgo)
  t.ok(bytes(cut) <= MAX_SUGGESTED_NAME_BYTES)
  t.ok(cut.startsWith('z\u0301') && cut.endsWith('.txt'))
})

t.test(
  'content-disposition: what follows the last dot is kept only when it looks like an extension',
  async (t) => {
    t.equal(shortenFileName(`.${'b'.repeat(300)}`), `.${'b'.repeat(MAX_SUGGESTED_NAME_BYTES - 1)}`)
    const noExtension = `${'a'.repeat(200)}.${'x'.repeat(60)}`
    t.equal(shortenFileName(noExtension), noExtension.slice(0, MAX_SUGGESTED_NAME_BYTES))
  },
)

t.test(
  'content-disposition: the ASCII fallback is shortened on its own (decomposition can lengthen it)',
  async (t) => {
    // U+FDFA is 3 bytes and decomposes into 18 characters: 70 of them are 210 bytes, 1260 fallback chars.
    const name = `${'\ufdfa'.repeat(70)}.pdf`
    t.ok(bytes(name) <= MAX_SUGGESTED_NAME_BYTES)
    const header = formatContentDisposition('attachment', name)
    t.equal(parse(header).parameters.filename, name)
    const fallback = fallbackOf(header)
    t.equal(asciiFallback(name).length, 18 * 70 + 4)
    t.equal(fallback, `${asciiFallback(name).slice(0, MAX_SUGGESTED_NAME_BYTES - 4)}.pdf`)
  },
)

/**
 * Names the canonical path lets through (1-255 bytes of UTF-8, no `/`, no controls), half of them
 * padded to 200-255 bytes, where shortening starts.
 */
const servableName = fc
  .tuple(
    fc.string({
      unit: fc.constantFrom(
        'a',
        'Z',
        '0',
        ' ',
        '.',
        '%',
        '"',
        '\\',
        'é',
        'e\u0301',
        '日',
        '😀',
        '👩‍👩‍👧',
        '\ufdfa',
        'ﬃ',
      ),
      minLength: 1,
      maxLength: 120,
    }),
    fc.constantFrom('', '.pdf', '.tar.gz', '.日本', '.x'),
    fc.oneof(fc.constant(0), fc.integer({ min: 200, max: 255 })),
  )
  .map(([stem, extension, padTo]) => {
    const padding = Math.max(0, padTo - bytes(stem + extension))
    return stem + 'é'.repeat(padding >> 1) + 'x'.repeat(padding & 1) + extension
  })
  .filter((n) => n !== '.' && n !== '..' && bytes(n) <= 255)

t.test('property: every header parses back, stays under the limit and keeps the extension', async (t) => {
  let shortened = 0
  fc.assert(
    fc.property(servableName, fc.constantFrom('attachment' as const, 'inline' as const), (name, type) => {
      const header = formatContentDisposition(type, name)
      if (!/^[\x20-\x7e]+$/.test(header)) throw new Error(`not printable ASCII: ${header}`)
      const parsed = parse(header)
      const suggested = parsed.parameters.filename as string
      const fallback = fallbackOf(header)
      if (parsed.type !== type) throw new Error(`type ${parsed.type}`)
      if (bytes(suggested) > MAX_SUGGESTED_NAME_BYTES) throw new Error(`filename* too long: ${suggested}`)
      if (bytes(fallback) > MAX_SUGGESTED_NAME_BYTES) throw new Error(`filename too long: ${fallback}`)
      if (!/^[\x20-\x7e]+$/.test(fallback) || /["\\%]/.test(fallback)) throw new Error(`fallback ${fallback}`)
      if (bytes(name) <= MAX_SUGGESTED_NAME_BYTES) {
        if (suggested !== name) throw new Error(`a name that fits changed: ${JSON.stringify(suggested)}`)
        return
      }
      shortened++
      // Shortened: a start of the name (whole graphemes) plus its extension, and nothing lost that fitted.
      const dot = name.lastIndexOf('.')
      const extension = dot > 0 && bytes(name.slice(dot)) <= 32 ? name.slice(dot) : ''
      if (!suggested.endsWith(extension)) throw new Error(`extension lost: ${JSON.stringify(suggested)}`)
      const kept = suggested.slice(0, suggested.length - extension.length)
      if (!name.startsWith(kept)) throw new Error(`not a start of the name: ${JSON.stringify(kept)}`)
      const next = [...new Intl.Segmenter().segment(name.slice(kept.length))][0]?.segment ?? ''
      if (bytes(suggested) + bytes(next) <= MAX_SUGGESTED_NAME_BYTES) {
        throw new Error(`cut too early: ${JSON.stringify(suggested)}`)
      }
    }),
    { numRuns: 2000 },
  )
  t.ok(shortened > 100, `${shortened} long names were shortened`)
})
