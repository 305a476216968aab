import fc from 'fast-check'
import t from 'tap'
import { canonicalizeRequestPath } from '../../src/paths/canonical-path.js'

const P = '/download/'
const ok = (raw: string) => {
  const r = canonicalizeRequestPath(raw, P)
  if (!r.ok) throw new Error(`expected ${raw} to be accepted, got ${r.reason}`)
  return r
}
const reason = (raw: string) => {
  const r = canonicalizeRequestPath(raw, P)
  return r.ok ? 'accepted' : r.reason
}

t.test('canonical path: plain segments come through unchanged', async (t) => {
  const r = ok('/download/reports/2026/q1.pdf')
  t.same(r.segments, ['reports', '2026', 'q1.pdf'])
  t.equal(r.path, '/reports/2026/q1.pdf')
  t.equal(r.aclPath, '/reports/2026/q1.pdf')
})

t.test('canonical path: the query string is dropped', async (t) => {
  t.equal(ok('/download/a/b.txt?x=../../etc/passwd').path, '/a/b.txt')
})

t.test('canonical path: each segment is percent-decoded exactly once', async (t) => {
  t.same(ok('/download/a%20b/c%3Fd%23e%25f%2Bg.txt').segments, ['a b', 'c?d#e%f+g.txt'])
  t.same(ok('/download/%252e%252e/x').segments, ['%2e%2e', 'x'], 'double encoding stays literal')
  t.same(ok('/download/caf%C3%A9.txt').segments, ['café.txt'])
})

t.test('canonical path: NFC and NFD names keep their bytes but share one ACL path', async (t) => {
  const nfc = ok(`/download/${encodeURIComponent('caf\u00e9.txt')}`)
  const nfd = ok(`/download/${encodeURIComponent('cafe\u0301.txt')}`)
  t.not(nfc.path, nfd.path)
  t.equal(nfd.segments[0], 'cafe\u0301.txt')
  t.equal(nfc.aclPath, nfd.aclPath)
})

t.test('canonical path: dot segments are refused in every spelling', async (t) => {
  for (const raw of [
    '/download/a/../b',
    '/download/./a',
    '/download/a/%2e%2e/b',
    '/download/a/%2E%2e',
    '/download/..',
    '/download/a/.%2e/b',
    '/download/%2e/x',
  ]) {
    t.equal(reason(raw), 'dot-segment', raw)
  }
})

t.test('canonical path: empty segments are refused', async (t) => {
  t.equal(reason('/download/a//b'), 'empty-segment')
  t.equal(reason('/download/a/'), 'empty-segment')
  t.equal(reason('/download//etc/passwd'), 'empty-segment')
  t.equal(reason('/download/'), 'empty')
  t.equal(reason('/download/?x'), 'empty')
})

t.test('canonical path: encoded slash, backslash and NUL are refused', async (t) => {
  t.equal(reason('/download/a%2Fb'), 'encoded-slash')
  t.equal(reason('/download/..%2f..%2fetc'), 'encoded-slash')
  t.equal(reason('/download/a\\b'), 'backslash')
  t.equal(reason('/download/a%5cb'), 'backslash')
  t.equal(reason('/download/a%00.txt'), 'control-character')
  t.equal(reason('/download/a%0d%0aSet-Cookie:x'), 'control-character')
  t.equal(reason('/download/a%C2%85'), 'control-character', 'C1 control (NEL)')
})

t.test('canonical path: invalid escapes and invalid UTF-8 are refused', async (t) => {
  t.equal(reason('/download/a%zz'), 'bad-escape')
  t.equal(reason('/download/a%2'), 'bad-escape')
  t.equal(reason('/download/%u002e%u002e/x'), 'bad-escape')
  t.equal(reason('/download/%c0%ae%c0%ae/x'), 'bad-utf8', 'overlong dot')
  t.equal(reason('/download/%e0%80%ae'), 'bad-utf8')
  t.equal(reason('/download/%ff.txt'), 'bad-utf8')
  t.equal(reason('/download/%ed%a0%80'), 'bad-utf8', 'UTF-16 surrogate')
})

t.test('canonical path: raw spaces, controls, non-ASCII and # are refused', async (t) => {
  t.equal(reason('/download/a b'), 'raw-character')
  t.equal(reason('/download/a\tb'), 'raw-character')
  t.equal(reason('/download/café'), 'raw-character')
  t.equal(reason('/download/a#b'), 'fragment')
})

t.test('canonical path: over-long segments and paths are refused', async (t) => {
  t.equal(reason(`/download/${'a'.repeat(256)}`), 'segment-too-long')
  t.equal(reason(`/download/${'%C3%A9'.repeat(128)}`), 'segment-too-long', '256 bytes once decoded')
  t.equal(reason(`/download/${'a'.repeat(255)}`), 'accepted')
  t.equal(reason(`/download/${'abcdefg/'.repeat(600)}x`), 'too-long')
})

t.test('canonical path: a target outside the prefix is refused', async (t) => {
  t.equal(reason('/other/x'), 'empty')
})

t.test('an accepted path is its segments joined, whether or not a segment was escaped', async (t) => {
  // Pieces that make escaped and plain segments, and the refusals between them.
  const piece = fc.oneof(
    fc.constantFrom(
      '/',
      '.',
      '..',
      'a',
      'Z',
      '-',
      '~',
      '%2e',
      '%41',
      '%c3%a9',
      'e%CC%81',
      '%2F',
      '%00',
      '%',
      '?q',
    ),
    fc.string({ maxLength: 3 }),
  )
  let accepted = 0
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 10 }), (pieces) => {
      const r = canonicalizeRequestPath(P + pieces.join(''), P)
      if (!r.ok) return true
      accepted++
      // Encoding the segments again names the same file.
      const again = ok(P + r.segments.map(encodeURIComponent).join('/'))
      return (
        r.path === `/${r.segments.join('/')}` &&
        r.aclPath === r.path.normalize('NFC') &&
        r.segments.every((s) => s !== '' && s !== '.' && s !== '..') &&
        again.path === r.path &&
        again.segments.join('/') === r.segments.join('/')
      )
    }),
    { numRuns: 3000 },
  )
  t.ok(accepted > 300, `enough accepted paths to say something (${accepted})`)
})
