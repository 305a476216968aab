import t from 'tap'
import { issueToken } from '../../src/credentials/issue.js'
import { MemoryCredentialStore } from '../../src/credentials/memory-credential-store.js'
import { bearerToken, inScope, tokenId, tokenMatches } from '../../src/credentials/tokens/access-token.js'

t.test('a token is stored as its hash and matches only itself', async (t) => {
  const issued = issueToken({ user: 'alice', groups: ['finance'], ttl: '30d', scope: '/reports/' }, 1000)
  if (!issued.ok) throw new Error(issued.message)
  const { record, token } = issued.value
  t.match(token, /^gwt_[A-Za-z0-9]{16}_[A-Za-z0-9_-]{43}$/)
  t.equal(tokenId(token), record.id)
  t.notOk(JSON.stringify(record).includes(token.slice(21)), 'the secret part is not in the record')
  t.ok(tokenMatches(token, record))
  t.notOk(tokenMatches(`${token.slice(0, -1)}x`, record))
  t.equal(record.scope, '/reports')
  t.equal(record.expiresAt, 1000 + 30 * 86_400)
  t.equal(tokenId('gwt_short_x'), null)
})

t.test('a token that matched before is still compared with the record it is checked against', async (t) => {
  const first = issueToken({ user: 'alice', groups: [], ttl: '1d' }, 1000)
  const second = issueToken({ user: 'alice', groups: [], ttl: '1d' }, 1000)
  if (!first.ok || !second.ok) throw new Error('tokens')
  t.ok(tokenMatches(first.value.token, first.value.record))
  t.ok(tokenMatches(first.value.token, first.value.record), 'again, its digest remembered')
  // The record under that id replaced (a new token for the id): the old token no longer matches.
  t.notOk(tokenMatches(first.value.token, { hash: second.value.record.hash }))
  t.notOk(tokenMatches(second.value.token, first.value.record))
})

t.test('Bearer header and scope', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc')
  t.equal(bearerToken('bearer  abc '), 'abc')
  t.equal(bearerToken('Basic abc'), undefined)
  t.ok(inScope(undefined, '/x'))
  t.ok(inScope('/reports', '/reports/q1.pdf'))
  t.notOk(inScope('/reports', '/reports2/q1.pdf'))
})

t.test('memory store: revocation at once, exact counts', async (t) => {
  const store = new MemoryCredentialStore(() => 100)
  const results = await Promise.all(Array.from({ length: 16 }, () => store.admitLink('L', 5, 200)))
  t.equal(results.filter((r) => r === 'ok').length, 5)
  t.equal(results.filter((r) => r === 'used-up').length, 11)
  t.equal(await store.admitLink('M', undefined, 200), 'ok')
  await store.revokeLink('M', 300)
  t.equal(await store.admitLink('M', undefined, 200), 'revoked')
  t.equal(await store.revokeToken('nope'), false)
  await store.close()
})
