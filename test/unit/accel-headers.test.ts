import fc from 'fast-check'
import mime from 'mime'
import t from 'tap'
import {
  accelRedirectTarget,
  accelReplyHeaders,
  contentTypeFor,
  downloadHeaderList,
} from '../../src/delivery/accel-headers.js'

t.test('accel headers: the target starts with the internal prefix and encodes every segment', async (t) => {
  t.equal(
    accelRedirectTarget('_protected', ['a b', 'c?d#e%f+g.txt']),
    '/_protected/a%20b/c%3Fd%23e%25f%2Bg.txt',
  )
  t.equal(accelRedirectTarget('_protected', ['%2e%2e']), '/_protected/%252e%252e')
  t.equal(accelRedirectTarget('p', ['café']), '/p/caf%C3%A9')
})

// Dot segments never get here: the canonical path refuses them (canonical-path.test.ts).
t.test('accel headers: the target never contains a literal ?', async (t) => {
  const target = accelRedirectTarget('_protected', ['?', '..x', 'a?b'])
  t.notMatch(target, /\?/)
  t.ok(target.startsWith('/_protected/'))
})

t.test('accel headers: content type from the extension, octet-stream otherwise', async (t) => {
  t.equal(contentTypeFor('a.pdf'), 'application/pdf')
  t.equal(contentTypeFor('A.PDF'), 'application/pdf')
  t.equal(contentTypeFor('data.csv'), 'text/csv')
  t.equal(contentTypeFor('noext'), 'application/octet-stream')
  t.equal(contentTypeFor('weird.zzzunknown'), 'application/octet-stream')
})

t.test('accel headers: download headers carry type, disposition and cache policy', async (t) => {
  const h = downloadHeaderList(['x', 'r.pdf'], {
    disposition: 'inline',
    limitRate: 0,
    cacheControl: 'private, no-store',
  })
  t.same(h, [
    'content-type',
    'application/pdf',
    'content-disposition',
    `inline; filename="r.pdf"; filename*=UTF-8''r.pdf`,
    'cache-control',
    'private, no-store',
  ])
})

t.test('accel headers: the remembered type is always what mime itself says for the name', async (t) => {
  const part = fc.string({ unit: fc.constantFrom(...'aAbBpPdDfFtTxXgGzZ.0'), maxLength: 8 })
  const names = fc.oneof(
    part,
    fc.constantFrom('pdf', 'PDF', '.pdf', 'a.', '.', 'x.tar.gz', 'r.Pdf', 'noext', 'a.zzzunknown'),
  )
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(names, { minLength: 1, maxLength: 20 }), (batch) => {
        for (const name of batch) {
          const want = mime.getType(name) ?? 'application/octet-stream'
          if (contentTypeFor(name) !== want) throw new Error(`${JSON.stringify(name)}: not ${want}`)
        }
      }),
      { numRuns: 500 },
    ),
  )
})

t.test(
  'accel headers: the x-accel reply carries disposition and cache policy under names nginx drops',
  async (t) => {
    const policy = { disposition: 'attachment', limitRate: 0, cacheControl: 'public, max-age=60' } as const
    const h = accelReplyHeaders('_protected', ['x', 'r.pdf'], policy)
    t.same(h, [
      'content-type',
      'application/pdf',
      'x-download-disposition',
      `attachment; filename="r.pdf"; filename*=UTF-8''r.pdf`,
      'x-download-cache-control',
      'public, max-age=60',
      'content-length',
      '0',
      'x-accel-redirect',
      '/_protected/x/r.pdf',
    ])
    // Under their own names nginx would copy them onto its error page for a missing file.
    const names = h.filter((_, i) => i % 2 === 0)
    t.notOk(names.includes('content-disposition'))
    t.notOk(names.includes('cache-control'))
    const direct = downloadHeaderList(['x', 'r.pdf'], policy)
    t.equal(h[3], direct[3], 'the same disposition value as direct mode sends')
    t.equal(h[5], direct[5], 'the same cache policy')
  },
)

t.test('accel headers: a rate limit rides along, and X-Accel-Redirect stays last', async (t) => {
  const h = accelReplyHeaders('p', ['a b.txt'], {
    disposition: 'inline',
    limitRate: 1024,
    cacheControl: 'private, no-store',
  })
  t.same(h.slice(-4), ['x-accel-limit-rate', '1024', 'x-accel-redirect', '/p/a%20b.txt'])
})
