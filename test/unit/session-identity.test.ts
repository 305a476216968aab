import t from 'tap'
import { identityFromSession, readPath, writePath } from '../../src/session/session-identity.js'
import { sessionExpiresAt, ttlSecondsFor } from '../../src/session/session-store.js'

const U = ['user', 'id']
const G = ['user', 'groups']

t.test('session identity: user id and groups come from the configured fields', async (t) => {
  t.same(identityFromSession({ user: { id: 'alice', groups: ['a', 'b'] } }, U, G), {
    user: 'alice',
    groups: ['a', 'b'],
  })
  t.same(identityFromSession({ uid: 7, roles: 'admin' }, ['uid'], ['roles']), {
    user: '7',
    groups: ['admin'],
  })
})
t.test('session identity: a session without a usable user id is anonymous', async (t) => {
  t.equal(identityFromSession({}, U, G), null)
  t.equal(identityFromSession({ user: { id: '' } }, U, G), null)
  t.equal(identityFromSession({ user: { id: { nested: 1 } } }, U, G), null)
  t.equal(identityFromSession({ user: 'alice' }, U, G), null)
})
t.test('session identity: non-string groups are ignored', async (t) => {
  t.same(identityFromSession({ user: { id: 'a', groups: ['x', 3, null, ''] } }, U, G), {
    user: 'a',
    groups: ['x'],
  })
})
t.test('session identity: inherited properties are never read', async (t) => {
  t.equal(readPath({}, ['constructor', 'name']), undefined)
  t.equal(readPath({ user: {} }, ['user', '__proto__']), undefined)
})
t.test('session identity: writePath builds nested objects', async (t) => {
  const o: Record<string, unknown> = {}
  writePath(o, U, 'bob')
  writePath(o, G, ['g'])
  t.same(o, { user: { id: 'bob', groups: ['g'] } })
})
t.test('session store: expiry comes from the cookie object', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(sessionExpiresAt({ cookie: { expires: '2025-12-31T23:59:59Z' } }) <= now, true)
  t.equal(sessionExpiresAt({ cookie: { expires: '2026-01-01T00:00:10Z' } }) <= now, false)
  t.equal(sessionExpiresAt({ cookie: { expires: 'garbage' } }) <= now, true)
  t.equal(sessionExpiresAt({}) <= now, false)
  t.equal(ttlSecondsFor({ cookie: { expires: '2026-01-01T00:00:10Z' } }, 99, now), 10)
  t.equal(ttlSecondsFor({}, 99, now), 99)
})
