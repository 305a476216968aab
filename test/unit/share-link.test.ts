import t from 'tap'
import { issueLink } from '../../src/credentials/issue.js'
import { parseLinkKeys } from '../../src/credentials/links/link-keys.js'
import { linkCovers, linkParam, linkTarget, verifyLink } from '../../src/credentials/links/share-link.js'

const K1 = `k1:${'a'.repeat(40)}`
const K2 = `k2:${'b'.repeat(40)}`
const NOW = 1_800_000_000

function ring(text: string) {
  const parsed = parseLinkKeys(text)
  if (!parsed.ok || parsed.ring === null) throw new Error('test keys do not parse')
  return parsed.ring
}

function issue(path: string, keys = K1, extra: { maxDownloads?: number; ttl?: string } = {}) {
  const issued = issueLink(
    {
      path,
      ttl: extra.ttl ?? '1h',
      issuer: 'alice',
      ...(extra.maxDownloads ? { maxDownloads: extra.maxDownloads } : {}),
    },
    ring(keys),
    { maxTtlSeconds: 86_400, routePrefix: '/download/' },
    NOW,
  )
  if (!issued.ok) throw new Error(issued.message)
  return issued.value
}

t.test('a link verifies for its own file, with its claims', async (t) => {
  const link = issue('/a/b.pdf', K1, { maxDownloads: 3 })
  t.equal(link.url, `/download/a/b.pdf?gwl=${link.token}`)
  const v = verifyLink(link.token, '/a/b.pdf', ring(K1), NOW)
  t.ok(v.ok)
  if (v.ok) {
    t.equal(v.link.kid, 'k1')
    t.equal(v.link.issuer, 'alice')
    t.equal(v.link.maxDownloads, 3)
    t.equal(v.link.expiresAt, NOW + 3600)
  }
})

t.test('refusals, each with its own reason', async (t) => {
  const link = issue('/a/b.pdf')
  const [kid, payload, mac] = link.token.split('.') as [string, string, string]
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const check = (token: string, path = '/a/b.pdf', keys = K1, now = NOW) => {
    const v = verifyLink(token, path, ring(keys), now)
    return v.ok ? 'ok' : v.why
  }
  t.equal(check(`${kid}.${flip(payload, 5)}.${mac}`), 'bad-signature', 'payload tampered')
  t.equal(check(`${kid}.${payload}.${flip(mac, 3)}`), 'bad-signature', 'MAC tampered')
  t.equal(check(link.token.slice(0, -1)), 'malformed', 'truncated by one character')
  t.equal(check(link.token.slice(0, 20)), 'malformed', 'truncated to a stub')
  t.equal(check(''), 'malformed', 'empty')
  t.equal(check(`${kid}.${payload}`), 'malformed', 'MAC missing')
  t.equal(check(`${kid}.${payload}.${mac}x`), 'malformed', 'MAC too long')
  t.equal(check(`k2.${payload}.${mac}`, '/a/b.pdf', `${K1},${K2}`), 'bad-signature', 'key id swapped')
  t.equal(check(link.token, '/a/b.pdf', K2), 'unknown-key', 'its key removed')
  t.equal(check(link.token, '/a/c.pdf'), 'wrong-path', 'another file')
  t.equal(check(link.token, '/a/b.pdf/x'), 'wrong-path', 'below a file')
  t.equal(check(link.token, '/a/b.pdf', K1, NOW + 3600), 'expired', 'at its expiry')
  t.equal(check(link.token, '/a/b.pdf', K1, NOW + 3599), 'ok', 'just before')
  // Re-signed by someone holding a key that is no longer in the ring.
  const forged = issue('/a/b.pdf', K2)
  t.equal(check(forged.token), 'unknown-key', 'a removed key signs nothing')
})

t.test('rotation: new links with the newest key, old ones verify until their key goes', async (t) => {
  const old = issue('/f.txt', K1)
  const fresh = issue('/f.txt', `${K2}\n${K1}`)
  t.match(fresh.token, /^k2\./)
  t.ok(verifyLink(old.token, '/f.txt', ring(`${K2}\n${K1}`), NOW).ok, 'old link, both keys')
  t.ok(verifyLink(fresh.token, '/f.txt', ring(`${K2}\n${K1}`), NOW).ok, 'new link, both keys')
  const v = verifyLink(old.token, '/f.txt', ring(K2), NOW)
  t.same(v, { ok: false, why: 'unknown-key' }, 'old link once k1 is removed')
})

t.test('a folder link covers what is below the folder, nothing else', async (t) => {
  const link = issue('/share/q1/')
  t.equal(link.url, `/download/share/q1/?gwl=${link.token}`)
  const ok = (p: string) => verifyLink(link.token, p, ring(K1), NOW).ok
  t.ok(ok('/share/q1/a.pdf'))
  t.ok(ok('/share/q1/deep/b.pdf'))
  t.notOk(ok('/share/q1'), 'the folder itself is no file')
  t.notOk(ok('/share/q10/a.pdf'), 'a sibling whose name starts alike')
  t.notOk(ok('/share/other.pdf'))
  t.ok(linkCovers({ path: '/', folder: true }, '/x'))
})

t.test('issuing canonicalises like a request, and refuses what a request could not name', async (t) => {
  t.same(linkTarget('/a/cafe\u0301.txt'), {
    ok: true,
    path: '/a/caf\u00e9.txt',
    folder: false,
    segments: ['a', 'cafe\u0301.txt'],
  })
  t.same(linkTarget('/a/./b'), {
    ok: false,
    message: "not a path that can be shared (dot-segment): '/a/./b'",
  })
  t.notOk(linkTarget('/a/../b').ok)
  t.notOk(linkTarget('/a//b').ok)
  t.notOk(linkTarget('a/b').ok)
  const bad = issueLink({ path: '/a', ttl: '2d', issuer: 'x' }, ring(K1), {
    maxTtlSeconds: 86_400,
    routePrefix: '/d/',
  })
  t.match(bad, { ok: false, message: /longer than links.max_ttl/ })
  t.match(issueLink({ path: '/a', ttl: '1h', issuer: 'x' }, null, { maxTtlSeconds: 9, routePrefix: '/d/' }), {
    ok: false,
    message: /GATEWAY_LINK_KEYS/,
  })
  t.match(
    issueLink({ path: '/a', ttl: 'soon', issuer: 'x' }, ring(K1), { maxTtlSeconds: 9, routePrefix: '/d/' }),
    {
      ok: false,
    },
  )
})

t.test('the query parameter: one gwl, or none trusted', async (t) => {
  t.equal(linkParam('gwl=abc'), 'abc')
  t.equal(linkParam('x=1&gwl=abc&y=2'), 'abc')
  t.equal(linkParam('x=1'), undefined)
  t.equal(linkParam('gwl=a&gwl=b'), '')
  t.equal(linkParam('xgwl=a'), undefined)
})

t.test('keys: kid:secret lines, newest first, checked', async (t) => {
  const r = ring(`# comment\n${K2}\n${K1}\n`)
  t.equal(r.newest.kid, 'k2')
  t.same([...r.byKid.keys()], ['k2', 'k1'])
  t.same(parseLinkKeys(undefined), { ok: true, ring: null })
  t.match(parseLinkKeys('k1:short'), { ok: false, message: /at least 32/ })
  t.match(parseLinkKeys('nocolon'), { ok: false, message: /kid:secret/ })
  t.match(parseLinkKeys(`${K1},${K1}`), { ok: false, message: /twice/ })
  const msg = parseLinkKeys('k1:short-secret-value')
  t.notMatch(JSON.stringify(msg), /short-secret-value/, 'no secret in messages')
})

t.test(
  'a link verified before is checked again for what may change: time, path and the key set',
  async (t) => {
    const link = issue('/a/b.pdf')
    const keys = ring(`${K1}\n${K2}`)
    t.ok(verifyLink(link.token, '/a/b.pdf', keys, NOW).ok, 'verified once, remembered for this ring')
    t.ok(verifyLink(link.token, '/a/b.pdf', keys, NOW).ok, 'again from memory')
    t.same(verifyLink(link.token, '/a/b.pdf', keys, NOW + 3600), { ok: false, why: 'expired' })
    t.same(verifyLink(link.token, '/a/c.pdf', keys, NOW), { ok: false, why: 'wrong-path' })
    // A reload makes a new ring: k1 gone, the remembered verdict of the old ring does not carry over.
    t.same(verifyLink(link.token, '/a/b.pdf', ring(K2), NOW), { ok: false, why: 'unknown-key' })
    const [kid, payload, mac] = link.token.split('.') as [string, string, string]
    const other = `${kid}.${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BA' : 'AA'}`
    t.same(verifyLink(other, '/a/b.pdf', keys, NOW), { ok: false, why: 'bad-signature' }, 'another MAC')
  },
)
