import { join } from 'node:path'
import t from 'tap'
import { requestTargetOf } from '../../src/cli/explain.js'
import { type Io, main, parseCliArgs } from '../../src/cli.js'

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
      source: { kind: 'acl', paths: ['a.yaml', 'acl.d'], defaultEffect: 'allow' },
      subject: { user: 'alice', groups: ['g1', 'g2'] },
      target: '/x/y',
    },
  })
})

t.test('cli args: explain without --user is anonymous and defaults to deny', async (t) => {
  const r = parseCliArgs(['explain', '--acl', 'a', '/x'])
  t.match(r, {
    ok: true,
    command: { subject: { user: null, groups: [] }, source: { defaultEffect: 'deny' } },
  })
})

t.test('cli args: usage errors are values, not exceptions', async (t) => {
  t.match(parseCliArgs(['explain', '--acl', 'a', '--config', 'g.yaml', '/x']), {
    ok: false,
    message: /not both/,
  })
  t.match(parseCliArgs(['explain', '--default', 'allow', '/x']), {
    ok: false,
    message: /--default goes with --acl/,
  })
  t.match(parseCliArgs(['hash-password', 'pw']), { ok: false, message: /standard input/ })
  t.match(parseCliArgs(['explain', '--acl', 'a']), { ok: false, message: /exactly one </ })
  t.match(parseCliArgs(['explain', '--acl', 'a', '--default', 'maybe', '/x']), { ok: false })
  t.match(parseCliArgs(['explain', '--acl', 'a', '--bogus', '/x']), { ok: false })
  t.match(parseCliArgs(['frobnicate']), { ok: false, message: /unknown command/ })
  t.match(parseCliArgs(['check', '--acl', 'a', '/x']), { ok: false })
  t.match(parseCliArgs(['explain', '--acl', 'a', '--group', 'g', '/x']), {
    ok: false,
    message: /--group needs --user/,
  })
  t.match(parseCliArgs(['check', '--acl', 'a', '--connect']), {
    ok: false,
    message: /--connect needs a gateway config/,
  })
})

t.test('cli target: a URL or a target under the route prefix as sent, a file path encoded', async (t) => {
  const target = (given: string) => {
    const r = requestTargetOf(given, '/download/')
    return r.ok ? r.command.target : `error: ${r.message}`
  }
  t.equal(target('https://files.example/download/a%20b.pdf?x=1'), '/download/a%20b.pdf?x=1')
  t.equal(
    target('http://h:8080/download/a/../b'),
    '/download/a/../b',
    'not resolved: curl --path-as-is sends it so',
  )
  t.equal(target('/download/home/demo/notes.txt'), '/download/home/demo/notes.txt')
  t.equal(target('/home/demo/my notes#1.txt'), '/download/home/demo/my%20notes%231.txt')
  t.equal(target('/caf\u00e9'), '/download/caf%C3%A9')
  t.match(target('https://h/login'), /not a download/)
  t.match(target('a/b'), /error: /)
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
  t.equal(await main(['explain', '--acl', good], io), 2)
  t.match(io.err_.join('\n'), 'usage:')
})

t.test('cli check: exit 0 and a summary for good rules', async (t) => {
  const io = capture()
  t.equal(await main(['check', '--acl', good], io), 0)
  t.match(io.out_.join('\n'), 'ok: 4 rules from 2 files')
})

t.test('cli check: exit 2 and every problem printed for bad rules', async (t) => {
  const io = capture()
  const code = await main(['check', '--acl', join(fixtures, 'errors', 'many-problems.yaml')], io)
  t.equal(code, 2)
  t.equal(io.err_.length, 4)
})

t.test(
  'cli args: without --acl the rules come from --config, $GATEWAY_CONFIG or the default config',
  async (t) => {
    t.match(parseCliArgs(['explain', '--config', 'g.yaml', '/x']), {
      ok: true,
      command: { source: { kind: 'config', file: 'g.yaml' } },
    })
    t.match(parseCliArgs(['check'], { GATEWAY_CONFIG: 'env.yaml' }), {
      ok: true,
      command: { source: { kind: 'config', file: 'env.yaml' } },
    })
    t.match(parseCliArgs(['check']), {
      ok: true,
      command: { source: { kind: 'config', file: 'config/gateway.yaml' } },
    })
  },
)

t.test('cli explain: --config reads the ACL paths and default from the gateway config', async (t) => {
  const io = capture()
  const code = await main(
    ['explain', '--config', 'config/gateway.yaml', '--user', 'demo', '/home/demo/notes.txt'],
    io,
  )
  t.equal(code, 0)
  t.match(io.out_.join('\n'), /own-home at .*10-example\.yaml:\d+/)
  const denied = capture()
  t.equal(
    await main(
      ['explain', '--config', 'config/gateway.yaml', '--user', 'demo', '/home/alice/secret.txt'],
      denied,
    ),
    1,
  )
})

t.test('cli check: a broken gateway config is reported with file and line', async (t) => {
  const io = capture()
  t.equal(await main(['check', '--config', join(fixtures, 'errors', 'yaml-syntax.yaml')], io), 2)
  t.match(io.err_.join('\n'), /yaml-syntax\.yaml:\d+/)
})

t.test('cli hash-password: prints a hash the users file accepts for that password', async (t) => {
  const { parsePasswordHash, verifyPassword } = await import('../../src/login/password-hash.js')
  const io = capture()
  t.equal(await main(['hash-password'], io, {}, async () => 'a long password\n'), 0)
  const hash = parsePasswordHash(io.out_[0] as string)
  if (!hash) throw new Error(`not a hash: ${io.out_[0]}`)
  t.equal(await verifyPassword('a long password', hash), true)
  const short = capture()
  t.equal(await main(['hash-password'], short, {}, async () => 'short\n'), 2)
})
