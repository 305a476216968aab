import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { AclHolder, type AclLog, type AclOptions, DEFAULT_POLICY, type Subject } from '../../src/acl/index.js'

const options: AclOptions = { defaultEffect: 'deny', defaults: DEFAULT_POLICY }
const anon: Subject = { user: null, groups: [] }

interface Entry {
  level: 'info' | 'warn' | 'error'
  o: object
  m?: string
}

function recorder(): { log: AclLog; lines: Entry[] } {
  const lines: Entry[] = []
  return {
    lines,
    log: {
      info: (o, m) => lines.push({ level: 'info', o, m }),
      warn: (o, m) => lines.push({ level: 'warn', o, m }),
      error: (o, m) => lines.push({ level: 'error', o, m }),
    },
  }
}

const allowA = 'rules:\n  - id: a\n    path: /a/**\n    allow: anyone\n'
const allowB = 'rules:\n  - id: b\n    path: /b/**\n    allow: anyone\n'

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acl-holder-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Polls until `check` holds, at most `ms`. */
async function waitFor(check: () => boolean, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return check()
}

t.test('holder: before the first load, current refuses everything', async (t) => {
  const { log } = recorder()
  const holder = new AclHolder(['/nonexistent'], { ...options, defaultEffect: 'allow' }, log)
  t.equal(holder.current.decide('/a/x', anon).allow, false)
  t.equal(holder.current.ruleCount, 0)
})

t.test('holder: load makes the rules current and logs the rule count', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'acl.yaml'), allowA)
  const { log, lines } = recorder()
  const holder = new AclHolder([dir], options, log)
  const r = await holder.load()
  t.equal(r.ok, true)
  t.equal(holder.current.decide('/a/x', anon).allow, true)
  t.match(lines, [{ level: 'info', o: { rules: 1, reason: 'initial load' } }])
})

t.test('holder: a good reload swaps the set', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'acl.yaml')
  await writeFile(file, allowA)
  const { log } = recorder()
  const holder = new AclHolder([file], options, log)
  await holder.load()
  const before = holder.current
  await writeFile(file, allowB)
  const r = await holder.reload('test')
  t.equal(r.ok, true)
  t.not(holder.current, before)
  t.equal(holder.current.decide('/b/x', anon).allow, true)
  t.equal(holder.current.decide('/a/x', anon).allow, false)
})

t.test('holder: a bad reload keeps the old set and logs one error per problem', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'acl.yaml')
  await writeFile(file, allowA)
  const { log, lines } = recorder()
  const holder = new AclHolder([file], options, log)
  await holder.load()
  const before = holder.current
  await writeFile(file, 'rules:\n  - id: x\n    path: nope\n    allow: nobody\n')
  const r = await holder.reload('test')
  t.equal(r.ok, false)
  t.equal(holder.current, before)
  const errors = lines.filter((l) => l.level === 'error')
  t.equal(errors.length, 2)
  t.match(errors, [
    { o: { code: 'GW_ACL_BAD_PATTERN', file, line: 3, reason: 'test' } },
    { o: { code: 'GW_ACL_BAD_SUBJECT', file, line: 4 } },
  ])
})

t.test('holder: a failed first load is returned to the caller and logged', async (t) => {
  const { log, lines } = recorder()
  const holder = new AclHolder([join(tmpdir(), 'acl-missing-dir-xyz')], options, log)
  const r = await holder.load()
  t.equal(r.ok, false)
  t.match(lines, [{ level: 'error', o: { code: 'GW_ACL_PATH_NOT_FOUND' } }])
})

t.test('holder: watch reloads when a file in a watched directory changes', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, '10-a.yaml'), allowA)
  const { log } = recorder()
  const holder = new AclHolder([dir], options, log)
  t.teardown(() => holder.close())
  await holder.load()
  holder.watch()
  await writeFile(join(dir, '20-b.yaml'), allowB)
  t.ok(await waitFor(() => holder.current.decide('/b/x', anon).allow), 'new file picked up')
  t.equal(holder.current.ruleCount, 2)
})

t.test('holder: watch survives an atomic replace (write aside, rename over)', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'acl.yaml')
  await writeFile(file, allowA)
  const { log } = recorder()
  const holder = new AclHolder([file], options, log)
  t.teardown(() => holder.close())
  await holder.load()
  holder.watch()
  for (const [text, path] of [
    [allowB, '/b/x'],
    [allowA, '/a/x'],
  ] as const) {
    const tmp = join(dir, '.acl.yaml.tmp')
    await writeFile(tmp, text)
    await rename(tmp, file)
    t.ok(await waitFor(() => holder.current.decide(path, anon).allow), `replaced file seen (${path})`)
  }
})

t.test('holder: after close, changes are no longer picked up', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'acl.yaml')
  await writeFile(file, allowA)
  const { log } = recorder()
  const holder = new AclHolder([file], options, log)
  await holder.load()
  holder.watch()
  holder.close()
  await writeFile(file, allowB)
  await new Promise((r) => setTimeout(r, 400))
  t.equal(holder.current.decide('/a/x', anon).allow, true)
})

t.test('holder: watch on a glob reloads for the files the glob selects', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, '10-a.yaml'), allowA)
  const { log, lines } = recorder()
  const holder = new AclHolder([join(dir, '{10,30}-*.yaml')], options, log)
  t.teardown(() => holder.close())
  await holder.load()
  holder.watch()
  // Not selected: no reload happens for it, and a later reload would not read it either.
  await writeFile(join(dir, '20-b.yaml'), allowB)
  await new Promise((r) => setTimeout(r, 400))
  t.equal(lines.filter((l) => l.m === 'ACL rules loaded').length, 1, 'only the first load')
  await writeFile(join(dir, '30-b.yaml'), allowB.replace('id: b', 'id: b30'))
  t.ok(await waitFor(() => holder.current.decide('/b/x', anon).allow), 'selected file picked up')
  t.equal(holder.current.ruleCount, 2)
})
