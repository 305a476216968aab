import { join } from 'node:path'
import t from 'tap'
import { canonicalCliPath, type Io, main, parseCliArgs } from '../../src/cli.js'

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'acl')
const good = join(fixtures, 'good')

function capture(): Io & { out_: string[]; err_: string[] } {
  const out_: string[] = []
  const err_: string[] = []
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) }
}

t.test('cli args: explain collects --acl, --user, repeated --group, --default and the path', async (t) => {
  const r = parseCliArgs([
    'explain',
    '--acl',
    'a.yaml',
    '--acl',
    'acl.d',
    '--user',
    'alice',
    '--group',
    'g1',
    '--group',
    'g2',
    '--default',
    'allow',
    '/x/y',
  ])
  t.same(r, {
    ok: true,
    command: {
      name: 'explain',
      acl: ['a.yaml', 'acl.d'],
      defaultEffect: 'allow',
      subject: { user: 'alice', groups: ['g1', 'g2'] },
      path: '/x/y',
    },
  })
})

t.test('cli args: explain without --user is anonymous and defaults to deny', async (t) => {
  const r = parseCliArgs(['explain', '--acl', 'a', '/x'])
  t.match(r, { ok: true, command: { subject: { user: null, groups: [] }, defaultEffect: 'deny' } })
})

t.test('cli args: usage errors are values, not exceptions', async (t) => {
  t.match(parseCliArgs(['explain', '/x']), { ok: false, message: /--acl/ })
  t.match(parseCliArgs(['explain', '--acl', 'a']), { ok: false, message: /one <path>/ })
  t.match(parseCliArgs(['explain', '--acl', 'a', '--default', 'maybe', '/x']), { ok: false })
  t.match(parseCliArgs(['explain', '--acl', 'a', '--bogus', '/x']), { ok: false })
  t.match(parseCliArgs(['frobnicate']), { ok: false, message: /unknown command/ })
  t.match(parseCliArgs(['check', '--acl', 'a', '/x']), { ok: false })
  t.match(parseCliArgs(['explain', '--acl', 'a', '../x']), { ok: false })
})

t.test('cli path: canonicalised minimally, .. refused', async (t) => {
  t.same(canonicalCliPath('/a//b/./c'), { ok: true, path: '/a/b/c' })
  t.same(canonicalCliPath('/caf\u0065\u0301'), { ok: true, path: '/caf\u00e9' })
  t.match(canonicalCliPath('/a/../b'), { ok: false })
  t.match(canonicalCliPath('a/b'), { ok: false })
})

t.test('cli explain: exit 0 on allow and prints the rule', async (t) => {
  const io = capture()
  const code = await main(['explain', '--acl', good, '--user', 'alice', '/reports/2026/x.pdf'], io)
  t.equal(code, 0)
  t.match(io.out_.join('\n'), `finance-reports at ${join(good, '20-reports.yaml')}:6`)
})

t.test('cli explain: exit 1 on deny', async (t) => {
  const io = capture()
  const code = await main(['explain', '--acl', good, '/reports/drafts/x.pdf'], io)
  t.equal(code, 1)
  t.match(io.out_.join('\n'), 'GW_DENY_RULE')
})

t.test('cli explain: --default allow applies when nothing matches', async (t) => {
  const io = capture()
  t.equal(await main(['explain', '--acl', good, '--default', 'allow', '/elsewhere'], io), 0)
  t.match(io.out_.join('\n'), 'GW_ALLOW_DEFAULT')
})

t.test('cli explain: exit 2 on a load error, one problem per line as file:line field: message', async (t) => {
  const io = capture()
  const bad = join(fixtures, 'errors', 'many-problems.yaml')
  const code = await main(['explain', '--acl', bad, '/x'], io)
  t.equal(code, 2)
  t.equal(io.err_.length, 4)
  t.match(io.err_[0], `${bad}:4 rules[0].path: `)
})

t.test('cli explain: exit 2 on a usage error, with the usage text', async (t) => {
  const io = capture()
  t.equal(await main(['explain', '/x'], io), 2)
  t.match(io.err_.join('\n'), 'usage:')
})

t.test('cli check: exit 0 and a summary for good rules', async (t) => {
  const io = capture()
  t.equal(await main(['check', '--acl', good], io), 0)
  t.match(io.out_.join('\n'), 'ok: 4 rules from 2 files')
})

t.test('cli check: exit 1 and every problem printed for bad rules', async (t) => {
  const io = capture()
  const code = await main(['check', '--acl', join(fixtures, 'errors', 'many-problems.yaml')], io)
  t.equal(code, 1)
  t.equal(io.err_.length, 4)
})
