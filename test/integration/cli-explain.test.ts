// `explain` agrees with the running gateway (x-accel mode, real Redis sessions, real logins): for
// every request of a table, it prints the status and reason code the gateway itself answers that
// request with. A few runs go through the real command line as its own process.
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli.js'
import { runCli } from '../harness/cli.js'
import { rawGet } from '../harness/http.js'
import { type Scenario, startScenario } from '../harness/scenario.js'

t.test('explain prints the status and code the running gateway answers, request by request', async (t) => {
  const scenario: Scenario = await startScenario()
  t.teardown(() => scenario.stop())
  const config = join(scenario.gateway.dir, 'gateway.yaml')
  const subjects = [
    { name: 'anonymous', args: [] as string[], cookie: undefined as string | undefined },
    { name: 'alice', args: ['--user', 'alice', '--group', 'finance'], cookie: await scenario.login('alice') },
    { name: 'bob', args: ['--user', 'bob'], cookie: await scenario.login('bob') },
  ]
  const targets = [
    '/download/public/hello.txt',
    '/download/reports/q1.pdf',
    '/download/home/alice/own.txt',
    '/download/hidden/secret.txt',
    '/download/nothing/here.txt',
    '/download/a/../b',
    '/download/%2e%2e/x',
    '/download/a%2Fb',
    '/download/caf%C3%A9.txt',
    '/download/caf\u00e9.txt',
    '/download/reports/q1.pdf?inline=1',
  ]
  const statusLine = (stdout: string) => {
    const said = /^status: +(\d+) (\S+?):?(?: |$)/m.exec(stdout)
    return said ? [Number(said[1]), said[2]] : stdout
  }
  // The whole table through main(), the command line's own entry, in this process: a process per
  // request would take minutes on a busy machine. The spawned runs below show it is the same.
  for (const s of subjects) {
    for (const target of targets) {
      const res = await rawGet(scenario.gateway.port, target, s.cookie ? { cookie: s.cookie } : {})
      const code =
        res.status === 200 ? 'GW_ALLOW' : (JSON.parse(res.body.toString()) as { code: string }).code
      const out: string[] = []
      const exit = await main(['explain', '--config', config, ...s.args, target], {
        out: (l) => out.push(l),
        err: (l) => out.push(l),
      })
      t.same(statusLine(out.join('\n')), [res.status, code], `${s.name} ${JSON.stringify(target)}`)
      t.equal(exit, res.status === 200 ? 0 : 1)
    }
  }
  // The real command line, as a process: a URL, a raw non-ASCII target, and a file path.
  const url = await runCli(['explain', '--config', config, 'http://localhost/download/reports/q1.pdf?x=1'])
  t.same(statusLine(url.stdout), [401, 'GW_ERR_NO_SESSION'])
  t.equal(url.code, 1)
  const raw = await runCli(['explain', '--config', config, '/download/caf\u00e9.txt'])
  t.same(statusLine(raw.stdout), [400, 'GW_ERR_BAD_REQUEST_LINE'])
  t.match(raw.stdout, 'hint:     clients percent-encode such names: /download/caf%C3%A9.txt')
  const filePath = await runCli(['explain', '--config', config, '--user', 'alice', '/home/alice/own.txt'])
  t.match(filePath.stdout, /^rule: +homes at .*10-test\.yaml:\d+$/m)
  t.same(statusLine(filePath.stdout), [200, 'GW_ALLOW'])
  t.equal(filePath.code, 0)
})
