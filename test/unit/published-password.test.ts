// The start-up refusal of users whose password is the one the README publishes: found by the hash
// (whatever the user is called), refused in one line naming file and line, allowed only by a
// config that says it is for development. The refusal of the built server itself:
// test/integration/published-password-start.test.ts.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/gateway-config.js'
import { hashPassword } from '../../src/login/password-hash.js'
import {
  PUBLISHED_PASSWORD,
  publishedPasswordRefusal,
  usersWithPublishedPassword,
} from '../../src/login/published-password.js'
import { loadUsersFile, parseUsers } from '../../src/login/users-file.js'
import { CHEAP_COST } from '../harness/scenario.js'

const FILE = '/etc/gw/users.yaml'

function login(allowPublishedPassword: boolean): GatewayConfig['login'] {
  return { enabled: true, usersFile: FILE, allowPublishedPassword }
}

t.test('published password: the shipped example user has it', async (t) => {
  const found = await usersWithPublishedPassword(loadUsersFile('config/users.yaml'))
  t.same(
    found.map((u) => u.id),
    ['demo'],
  )
})

t.test('published password: the shipped production users file has no such user', async (t) => {
  const users = loadUsersFile('config/users.production.yaml')
  t.same(await usersWithPublishedPassword(users), [])
})

t.test('published password: refused by hash, with file, line and every user named', async (t) => {
  const text = `users:
  - id: alice
    password: ${await hashPassword('a real password', CHEAP_COST)}
  - id: carol
    password: ${await hashPassword(PUBLISHED_PASSWORD, CHEAP_COST)}
    groups: [staff]
  - id: dave
    password: ${await hashPassword(PUBLISHED_PASSWORD, CHEAP_COST)}
`
  const users = parseUsers(FILE, text)
  const refusal = await publishedPasswordRefusal(login(false), users)
  t.match(refusal, `${FILE}:5 users: "carol", "dave" have the example password published in the README`)
  t.match(refusal, /hash-password/, 'says how to set a new one')
  t.notMatch(refusal, /\n/, 'one line')
  t.notMatch(refusal, PUBLISHED_PASSWORD, 'never prints the password')
})

t.test('published password: one user is named in the singular', async (t) => {
  const text = `users:\n  - id: demo\n    password: ${await hashPassword(PUBLISHED_PASSWORD, CHEAP_COST)}\n`
  const refusal = await publishedPasswordRefusal(login(false), parseUsers(FILE, text))
  t.match(refusal, `${FILE}:3 users: "demo" has the example password`)
})

t.test('published password: a development config may keep it', async (t) => {
  const users = loadUsersFile('config/users.yaml')
  t.equal(await publishedPasswordRefusal(login(true), users), undefined)
  t.ok(await publishedPasswordRefusal(login(false), users), 'the same users without the key are refused')
})

t.test('published password: other passwords, no users, or login off start', async (t) => {
  const text = `users:\n  - id: demo\n    password: ${await hashPassword('demo-download-2', CHEAP_COST)}\n`
  t.equal(await publishedPasswordRefusal(login(false), parseUsers(FILE, text)), undefined)
  t.equal(await publishedPasswordRefusal(login(false), parseUsers(FILE, 'users: []\n')), undefined)
  t.equal(await publishedPasswordRefusal(login(false), undefined), undefined)
  const off = { enabled: false, usersFile: FILE, allowPublishedPassword: false }
  t.equal(await publishedPasswordRefusal(off, loadUsersFile('config/users.yaml')), undefined)
})
