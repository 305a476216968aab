// Session JSON decoded once per distinct text: the same text gives the same frozen session, any
// other text its own, and what cannot be a session gives null, as a fresh JSON.parse would.
import t from 'tap'
import { DecodedSessions } from '../../src/session/decoded-sessions.js'

const alice = JSON.stringify({ cookie: { expires: null }, user: { id: 'alice', groups: ['staff'] } })
const bob = JSON.stringify({ cookie: { expires: null }, user: { id: 'bob', groups: [] } })

t.test('decoded sessions: one frozen object per text, a changed text decoded anew', async (t) => {
  const d = new DecodedSessions(10)
  const first = d.decode(alice)
  t.same(first, JSON.parse(alice))
  t.ok(Object.isFrozen(first) && Object.isFrozen((first as { user: object }).user), 'frozen all through')
  // A text equal in content but built apart, as every Redis reply is.
  t.equal(d.decode(JSON.stringify(JSON.parse(alice))), first, 'the same text: the same object')
  const other = d.decode(bob)
  t.not(other, first)
  t.equal((other as { user: { id: string } }).user.id, 'bob', 'a different text is decoded, never reused')
})

t.test('decoded sessions: what is not a session is null, as without the memory', async (t) => {
  const d = new DecodedSessions(10)
  for (const text of [null, 'not json', '[1,2]', 'null', '"text"', '42', '{"a":'])
    t.equal(d.decode(text), null, String(text))
  t.equal(d.size, 0, 'nothing kept for them')
})

t.test('decoded sessions: bounded, the oldest text goes first; long texts are not kept', async (t) => {
  const d = new DecodedSessions(2)
  const a = d.decode(alice)
  d.decode(bob)
  d.decode(JSON.stringify({ user: { id: 'carol' } }))
  t.equal(d.size, 2)
  t.not(d.decode(alice), a, 'the oldest was dropped, so it is decoded again')
  const long = JSON.stringify({ user: { id: 'dave' }, pad: 'x'.repeat(5000) })
  const l1 = d.decode(long)
  t.equal((l1 as { user: { id: string } }).user.id, 'dave')
  t.not(d.decode(long), l1, 'a long text is decoded every time')
})
