import t from 'tap'
import { ConfigError } from '../../src/config/problems.js'
import { loadUsersFile, parseUsers } from '../../src/login/users-file.js'

const HASH = 'scrypt$ln=15,r=8,p=1$7wPT9WNC0u86j4QZyYvzeA==$+vWs2zMP09dG7adTt+52mrktNwiAzSBHnuL2zivO9tU='

t.test('users file: the shipped example has the demo user', async (t) => {
  const users = loadUsersFile('config/users.yaml')
  t.same(users.get('demo')?.groups, ['staff'])
})
t.test('users file: every problem is reported with its line', async (t) => {
  const text = `users:
  - id: a
    password: plain-text
  - id: a
    password: ${HASH}
    groups: staff
    role: admin
`
  try {
    parseUsers('/u.yaml', text)
    t.fail('expected an error')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    const problems = (err as ConfigError).problems.map((p) => `${p.line} ${p.field}`)
    t.same(
      problems.sort(),
      ['3 users[0].password', '4 users[1].id', '6 users[1].groups', '7 users[1].role'].sort(),
    )
  }
})
