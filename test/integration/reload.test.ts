// Reloading the users file and the session secrets (what SIGHUP runs) while downloads and logins
// flow through real nginx: no request is dropped or refused, the new users and secrets take
// effect, and a bad users file or secrets file keeps the last good one.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { hashPassword } from '../../src/login/password-hash.js'
import { PUBLISHED_PASSWORD } from '../../src/login/published-password.js'
import { SessionCookieVerifier } from '../../src/session/signed-cookie.js'
import { startGateway } from '../harness/gateway.js'
import { rawGet } from '../harness/http.js'
import { startNginx } from '../harness/nginx.js'
import {
  CHEAP_COST,
  loginAt,
  makeScenarioTree,
  SCENARIO_ACL,
  scenarioUsersYaml,
} from '../harness/scenario.js'

const CONFIG = `
delivery:
  mode: x-accel
  files_root: \${FILES_ROOT}
session:
  store: memory
  cookie_name: sid
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`

const ROUNDS = 10
const ROUND_LAST = ROUNDS - 1
const OLD_SECRET = 'old-secret-old-secret-old-secret-0123456789'
const newSecret = (i: number) => `new-secret-${i}-new-secret-new-secret-0123456789`

const secretsDir = await mkdtemp(join(tmpdir(), 'gw-secrets-'))
t.teardown(() => rm(secretsDir, { recursive: true, force: true }))
const secretsFile = join(secretsDir, 'secrets')

/** As an operator's deploy tool should: a new file renamed over the old one. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.new`, text)
  await rename(`${path}.new`, path)
}

await replaceFile(secretsFile, `${OLD_SECRET}\n`)
const tree = await makeScenarioTree()
t.teardown(() => tree.cleanup())
const baseUsers = await scenarioUsersYaml()
const gateway = await startGateway({
  configYaml: CONFIG,
  aclFiles: { '10-test.yaml': SCENARIO_ACL },
  usersYaml: baseUsers,
  filesRoot: tree.root,
  env: { GATEWAY_SESSION_SECRETS: '', GATEWAY_SESSION_SECRETS_FILE: secretsFile },
  metrics: true,
})
t.teardown(() => gateway.stop())
const nginx = await startNginx({ gatewayPort: gateway.port, filesRoot: tree.root })
t.teardown(() => nginx.stop())
const usersFile = join(gateway.dir, 'users.yaml')
const carol = `  - id: carol\n    password: ${await hashPassword('pw-carol', CHEAP_COST)}\n`

async function download(path: string, cookie: string) {
  return rawGet(nginx.port, path, { cookie }, { timeoutMs: 10_000 })
}

async function reloads(target: string, result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.metrics?.server.port}/metrics`)).text()
  const m = new RegExp(`^gateway_reloads_total\\{target="${target}",result="${result}"\\} (\\d+)$`, 'm').exec(
    text,
  )
  return m ? Number(m[1]) : 0
}

const alice = await loginAt(nginx.baseUrl, 'alice')

t.test('users and secrets reloaded under load: every request answered as before', async (t) => {
  let running = true
  const statuses = new Map<string, number>()
  const note = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1)
  const downloader = async () => {
    while (running) {
      const res = await download('/download/reports/q1.pdf', alice)
      note(`download ${res.status}`)
    }
  }
  const loginLoop = async () => {
    while (running) {
      try {
        const cookie = await loginAt(nginx.baseUrl, 'bob')
        const res = await download('/download/home/bob/own.txt', cookie)
        note(`bob ${res.status}`)
      } catch (err) {
        note(`bob login failed: ${(err as Error).message}`)
      }
    }
  }
  const load = [downloader(), downloader(), downloader(), loginLoop()]
  for (let i = 0; i < ROUNDS; i++) {
    // Rotation: a new secret first (it signs new cookies), the older ones kept (their cookies,
    // bob's of a moment ago included, still verify).
    const older = Array.from({ length: i }, (_, j) => newSecret(i - 1 - j))
    await replaceFile(secretsFile, `${[newSecret(i), ...older, OLD_SECRET].join('\n')}\n`)
    await replaceFile(usersFile, i % 2 === 0 ? `${baseUsers}${carol}` : baseUsers)
    const outcome = await gateway.reloader.reloadAll('test')
    t.same(outcome, { rules: true, users: true, secrets: true }, `round ${i}: all reloaded`)
    await new Promise((r) => setTimeout(r, 30))
  }
  running = false
  await Promise.all(load)
  const seen = Object.fromEntries(statuses)
  t.same(Object.keys(seen).sort(), ['bob 200', 'download 200'], `only 200s (${JSON.stringify(seen)})`)
  t.ok((seen['download 200'] ?? 0) > ROUNDS, 'downloads ran throughout')
  t.equal(await reloads('users', 'ok'), ROUNDS)
  t.equal(await reloads('secrets', 'ok'), ROUNDS)
  t.ok(
    gateway.logs().some((l) => l.msg === 'session secrets reloaded' && l.secrets === ROUNDS + 1),
    'a line per reload',
  )
  t.notOk(gateway.logText().includes(OLD_SECRET), 'no secret in any line')
})

t.test('a user added by a reload can log in; the newest secret signs', async (t) => {
  await replaceFile(usersFile, `${baseUsers}${carol}`)
  t.equal(await gateway.reloader.reloadUsers('test'), true)
  const cookie = await loginAt(nginx.baseUrl, 'carol')
  const res = await rawGet(gateway.port, '/download/home/carol/any.txt', { cookie })
  t.equal(res.status, 200, 'her cookie works')
  t.equal(res.headers['x-accel-redirect'], '/_protected/home/carol/any.txt')
  // Signed with the newest secret: the verifier built from it alone accepts it.
  const value = decodeURIComponent(cookie.slice('sid='.length))
  t.ok(new SessionCookieVerifier([newSecret(ROUND_LAST)], '').verify(value).ok, 'signed by the newest secret')
  t.notOk(new SessionCookieVerifier([OLD_SECRET], '').verify(value).ok, 'not by the old one')
})

t.test('a bad users file keeps the old users', async (t) => {
  await replaceFile(usersFile, 'users:\n  - id: mallory\n    password: not-a-hash\n')
  t.equal(await gateway.reloader.reloadUsers('test'), false)
  await loginAt(nginx.baseUrl, 'alice')
  t.pass('alice still logs in')
  await t.rejects(loginAt(nginx.baseUrl, 'mallory'), /login mallory: 401/)
  const line = gateway.logs().findLast((l) => l.msg === 'users file refused: the previous users stay')
  t.match(line, { level: 50, file: usersFile })
  t.match(line?.problems, [/users\[0\]\.password/])
  t.equal(await reloads('users', 'refused'), 1)
})

t.test('a users file with the published example password is refused, as at start', async (t) => {
  const published = await hashPassword(PUBLISHED_PASSWORD, CHEAP_COST)
  await replaceFile(usersFile, `${baseUsers}  - id: eve\n    password: ${published}\n`)
  t.equal(await gateway.reloader.reloadUsers('test'), false)
  const res = await fetch(`${nginx.baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'eve', password: PUBLISHED_PASSWORD }),
  })
  t.equal(res.status, 401, 'eve never gets in')
  const line = gateway.logs().findLast((l) => l.msg === 'users file refused: the previous users stay')
  t.match(line?.problems, [/"eve" has the example password published in the README/])
  t.equal(await reloads('users', 'refused'), 2)
})

t.test('a bad secrets file keeps the old secrets; rotating one out ends its cookies', async (t) => {
  await replaceFile(secretsFile, 'too-short\n')
  t.equal(gateway.reloader.reloadSecrets('test'), false)
  t.equal((await download('/download/reports/q1.pdf', alice)).status, 200, 'old cookies still verify')
  t.equal(await reloads('secrets', 'refused'), 1)
  t.match(
    gateway.logs().findLast((l) => l.msg === 'session secrets refused: the previous secrets stay'),
    { problems: ['GATEWAY_SESSION_SECRETS: each secret must be at least 32 characters long'] },
  )

  // The old secret rotated out: alice's cookie, signed with it (and remembered as verified), no
  // longer opens anything.
  await replaceFile(secretsFile, `${newSecret(ROUND_LAST)}\n`)
  t.equal(gateway.reloader.reloadSecrets('test'), true)
  const res = await download('/download/reports/q1.pdf', alice)
  t.equal(res.status, 401)
  t.match(res.body.toString(), /GW_ERR_BAD_COOKIE/)
})
