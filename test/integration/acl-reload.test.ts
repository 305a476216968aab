// Rules reload while downloads go on: through real nginx, a steady stream of requests never fails
// because of a reload, a bad rule file is refused and the last good rules stay, and a watched
// file change takes effect without a signal.
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { SCENARIO_ACL, type Scenario, startScenario, X_ACCEL_REDIS_CONFIG } from '../harness/scenario.js'

const scenario: Scenario = await startScenario(X_ACCEL_REDIS_CONFIG.replace('watch: false', 'watch: true'))
t.teardown(() => scenario.stop())
const { nginx, gateway } = scenario
const alice = await scenario.login('alice')
const aclFile = join(gateway.dir, 'acl.d', '10-test.yaml')

/** Replaces the rule file the way deploy tools do: write aside, rename over. */
async function replaceRules(text: string): Promise<void> {
  const aside = `${aclFile}.tmp`
  await writeFile(aside, text)
  await rename(aside, join(gateway.dir, 'acl.d', '10-test.yaml'))
}

async function status(path: string): Promise<number> {
  const res = await fetch(`${nginx.baseUrl}${path}`, { headers: { cookie: alice } })
  await res.arrayBuffer()
  return res.status
}

async function until(predicate: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await predicate()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

// Same decisions for /reports/**, different rule ids and order: a reload that changes nothing
// a user can see, so any failed request would be the reload's fault.
const variantA = SCENARIO_ACL
const variantB = SCENARIO_ACL.replace('id: reports', 'id: reports-b').replace('id: public', 'id: public-b')

t.test('acl reload: a stream of downloads through nginx never fails while rules reload', async (t) => {
  let stop = false
  const failures: number[] = []
  let done = 0
  const worker = async () => {
    while (!stop) {
      const s = await status('/download/reports/q1.pdf')
      done++
      if (s !== 200) failures.push(s)
    }
  }
  const workers = Array.from({ length: 8 }, worker)
  let reloads = 0
  for (let i = 0; i < 20; i++) {
    const result = await gateway.acl.reload('test')
    if (result.ok) reloads++
    await replaceRules(i % 2 === 0 ? variantB : variantA)
    await new Promise((r) => setTimeout(r, 60))
  }
  stop = true
  await Promise.all(workers)
  t.equal(reloads, 20)
  t.same(failures, [], `${done} downloads, none failed`)
  t.ok(done > 100, `enough traffic (${done})`)
})

t.test('acl reload: a rule file with errors is refused and the last good rules stay', async (t) => {
  await replaceRules(variantA)
  t.ok(
    await until(
      async () =>
        gateway.acl.current.decide('/reports/q1.pdf', { user: 'alice', groups: ['finance'] }).rule?.id ===
        'reports',
    ),
  )
  const before = gateway.logs().length
  await replaceRules('rules:\n  - id: broken\n    path: /reports/[oops\n    allow: anyone\n')
  const refused = await gateway.acl.reload('test')
  t.equal(refused.ok, false)
  t.equal(await status('/download/reports/q1.pdf'), 200, 'still the old rules')
  t.equal(
    gateway.acl.current.decide('/reports/q1.pdf', { user: 'alice', groups: ['finance'] }).rule?.id,
    'reports',
  )
  const errors = gateway
    .logs()
    .slice(before)
    .filter((l) => l.level === 50)
  t.ok(errors.length >= 1, 'an error line names the problem')
  t.match(JSON.stringify(errors), /10-test\.yaml/)
})

t.test('acl reload: a watched file change takes effect without a signal', async (t) => {
  await replaceRules(`${variantA}\n`)
  t.ok(await until(async () => (await status('/download/reports/q1.pdf')) === 200))
  await replaceRules(variantA.replace('allow: group:finance', 'deny: anyone'))
  t.ok(await until(async () => (await status('/download/reports/q1.pdf')) === 403), 'now denied')
  await replaceRules(variantA)
  t.ok(await until(async () => (await status('/download/reports/q1.pdf')) === 200), 'and allowed again')
})
