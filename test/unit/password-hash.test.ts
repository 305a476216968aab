import t from 'tap'
import { hashPassword, parsePasswordHash, verifyPassword } from '../../src/login/password-hash.js'

const CHEAP = { ln: 10, r: 8, p: 1 }

t.test('password hash: the right password verifies, a wrong one does not', async (t) => {
  const hash = parsePasswordHash(await hashPassword('correct horse', CHEAP))
  if (!hash) throw new Error('unparseable hash')
  t.equal(await verifyPassword('correct horse', hash), true)
  t.equal(await verifyPassword('correct horsf', hash), false)
  t.equal(await verifyPassword('', hash), false)
})
t.test('password hash: two hashes of one password differ (salted)', async (t) => {
  t.not(await hashPassword('x', CHEAP), await hashPassword('x', CHEAP))
})
t.test('password hash: malformed or too-cheap hashes are rejected', async (t) => {
  t.equal(parsePasswordHash('plain'), null)
  t.equal(parsePasswordHash('scrypt$ln=4,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), null)
  t.equal(parsePasswordHash('scrypt$ln=15,r=8,p=1$AAAA$AAAA'), null, 'key too short')
})
