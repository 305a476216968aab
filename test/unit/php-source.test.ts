// The PHP source on its own: which cookie values are PHP ids, how $_SESSION maps to a user and
// groups, and hostile or broken session files refused with the reason the decision line carries.
// Session files are written here byte by byte (what a hostile or crashed writer could leave), or by
// real PHP where the shape matters (an object kept in the session).
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_UNREADABLE,
} from '../../src/errors.js'
import type { IdentityResult } from '../../src/session/session-source.js'
import { PhpFilesStorage } from '../../src/session/sources/php/php-files-storage.js'
import { phpSessionIdChecker } from '../../src/session/sources/php/php-session-id.js'
import { PhpSessionSource, type PhpSourceOptions } from '../../src/session/sources/php/php-source.js'
import { identify } from '../contract/session-source.js'
import { phpSessionCli } from '../harness/php.js'

const dir = await mkdtemp(join(tmpdir(), 'gw-php-unit-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const storage = new PhpFilesStorage({
  savePath: dir,
  gcMaxLifetimeSeconds: 1440,
  maxBytes: 1 << 20,
  readTimeoutMs: 2000,
})

function sourceWith(o: Partial<PhpSourceOptions> = {}): PhpSessionSource {
  return new PhpSessionSource({
    cookieName: 'PHPSESSID',
    idShape: { sidLength: 32, sidBitsPerCharacter: 4 },
    storage,
    serializeHandler: 'php',
    objects: 'inert',
    userIdKey: ['user_id'],
    groupsKey: ['roles'],
    ...o,
  })
}

let next = 0
/** A fresh valid id and its session file holding `bytes`. */
async function sessionFile(bytes: string | Buffer): Promise<string> {
  const id = (next++).toString(16).padStart(32, 'a')
  await writeFile(join(dir, `sess_${id}`), bytes)
  return id
}

const ask = (source: PhpSessionSource, id: string): Promise<IdentityResult> =>
  identify(source, `PHPSESSID=${id}`)

function refusedAs(t: Test, r: IdentityResult, reason: unknown, why: string): void {
  t.equal(r.ok, false, `refused (${why})`)
  if (!r.ok) {
    t.equal(r.reason, reason)
    t.equal(r.why, why)
  }
}

t.test("PHP's id alphabets and lengths, checked before any I/O", async (t) => {
  const hex = phpSessionIdChecker({ sidLength: 32, sidBitsPerCharacter: 4 })
  t.equal(hex('0123456789abcdef0123456789abcdef'), '0123456789abcdef0123456789abcdef')
  for (const bad of [
    '0123456789abcdef0123456789abcdeg',
    '0123456789abcdef0123456789ABCDEF',
    'a'.repeat(31),
    'a'.repeat(33),
  ])
    t.equal(hex(bad), undefined, bad)
  const five = phpSessionIdChecker({ sidLength: 26, sidBitsPerCharacter: 5 })
  t.ok(five('0123456789abcdefghijklmnov'))
  t.equal(five('0123456789abcdefghijklmnow'), undefined, 'w is past the 5-bit alphabet')
  const six = phpSessionIdChecker({ sidLength: 22, sidBitsPerCharacter: 6 })
  t.equal(six('abcXYZ09,-abcXYZ09,-ab'), 'abcXYZ09,-abcXYZ09,-ab')
  t.equal(six('abcXYZ09%2C-abcXYZ09,-ab'), 'abcXYZ09,-abcXYZ09,-ab', "PHP's cookie encodes ','")
  for (const bad of [
    '../../../../etc/passwd00',
    'abcXYZ09,-abcXYZ09,-a/',
    'abcXYZ09,-abcXYZ09,-a\u0000',
    'abcXYZ09.-abcXYZ09,-ab',
  ])
    t.equal(six(bad), undefined, JSON.stringify(bad))

  // A traversal attempt never reaches the file system: a link of that name would be read otherwise.
  await symlink('/etc/hostname', join(dir, 'sess_..%2F..%2Fx'))
  refusedAs(t, await identify(sourceWith(), 'PHPSESSID=..%2F..%2Fx'), GW_ERR_BAD_COOKIE, 'php-bad-id')
})

t.test('user id and groups: strings, integers, big integers; groups as lists', async (t) => {
  const s = sourceWith()
  const cases: [string, string, readonly string[]][] = [
    ['user_id|s:5:"alice";roles|a:2:{i:0;s:7:"finance";i:1;s:5:"staff";}', 'alice', ['finance', 'staff']],
    ['user_id|i:42;roles|a:1:{i:0;i:7;}', '42', ['7']],
    ['user_id|i:9223372036854775807;', '9223372036854775807', []],
    // What unset($roles[0]) leaves: integer keys, no longer a list.
    ['user_id|s:1:"u";roles|a:2:{i:2;s:1:"b";i:1;s:1:"a";}', 'u', ['a', 'b']],
    ['user_id|s:1:"u";roles|s:5:"admin";', 'u', ['admin']],
    // A role set keyed by name is not a list: no groups rather than a guess.
    ['user_id|s:1:"u";roles|a:1:{s:5:"admin";b:1;}', 'u', []],
    ['user_id|s:1:"u";roles|a:3:{i:0;s:1:"a";i:1;b:1;i:2;d:1.5;}', 'u', ['a']],
  ]
  for (const [data, user, groups] of cases) {
    const r = await ask(s, await sessionFile(data))
    t.same(r.ok && { user: r.identity.user, groups: r.identity.groups }, { user, groups }, data)
  }
  for (const data of [
    '',
    'csrf|s:4:"abcd";',
    'user_id|s:0:"";',
    'user_id|d:1.5;',
    'user_id|b:1;',
    'user_id|N;',
    'user_id|a:0:{}',
  ])
    refusedAs(t, await ask(s, await sessionFile(data)), GW_ERR_SESSION_NO_USER, 'no-user')
  const nested = sourceWith({ userIdKey: ['auth', 'id'], groupsKey: ['auth', 'roles'] })
  const r = await ask(nested, await sessionFile('auth|a:2:{s:2:"id";i:5;s:5:"roles";a:1:{i:0;s:1:"x";}}'))
  t.same(r.ok && r.identity, { user: '5', groups: ['x'] })
})

t.test('a user kept as a PHP object: readable when inert, refused with objects: refuse', async (t) => {
  const id = await phpSessionCli({ saveHandler: 'files', savePath: dir }, ['login-object', 'carol'])
  const inert = await ask(sourceWith({ userIdKey: ['user', 'id'], groupsKey: ['user', 'roles'] }), id)
  t.same(inert.ok && inert.identity, { user: 'carol', groups: ['staff'] })
  refusedAs(t, await ask(sourceWith({ objects: 'refuse' }), id), GW_ERR_SESSION_UNREADABLE, 'php-object')
  const custom = await sessionFile('user_id|s:1:"u";x|C:11:"ArrayObject":3:{x:0}')
  refusedAs(t, await ask(sourceWith({ objects: 'refuse' }), custom), GW_ERR_SESSION_UNREADABLE, 'php-object')
})

t.test('broken and hostile session data is refused with its reason, never a throw', async (t) => {
  const s = sourceWith()
  const cases: [string | Buffer, string][] = [
    ['user_id|s:5:"alice"', 'truncated'],
    ['user_id|s:50:"alice";', 'truncated'],
    ['user_id|x:5;', 'bad-syntax'],
    ['garbage without a pipe', 'bad-syntax'],
    [`user_id|s:1:"u";deep|${'a:1:{i:0;'.repeat(200)}N;${'}'.repeat(200)}`, 'too-deep'],
    ['user_id|R:9;', 'bad-reference'],
  ]
  for (const [data, why] of cases)
    refusedAs(t, await ask(s, await sessionFile(data)), GW_ERR_SESSION_UNREADABLE, why)
  // Larger than any session the decoder reads: refused before it is read.
  const big = await sessionFile(Buffer.alloc((1 << 20) + 1, 0x61))
  refusedAs(t, await ask(s, big), GW_ERR_SESSION_UNREADABLE, 'too-large')
  // A php_serialize session read with the php handler (a config that does not match the app).
  const other = await sessionFile('a:1:{s:7:"user_id";s:1:"u";}')
  refusedAs(t, await ask(s, other), GW_ERR_SESSION_UNREADABLE, 'bad-syntax')
})

t.test('files: missing, expired by mtime, a link, a folder', async (t) => {
  const s = sourceWith()
  refusedAs(t, await ask(s, 'f'.repeat(32)), GW_ERR_SESSION_UNKNOWN, 'unknown')
  const old = await sessionFile('user_id|s:1:"u";')
  const idle = new Date(Date.now() - 1441_000)
  await utimes(join(dir, `sess_${old}`), idle, idle)
  refusedAs(t, await ask(s, old), GW_ERR_SESSION_EXPIRED, 'expired')
  const real = await sessionFile('user_id|s:1:"u";')
  const linked = 'e'.repeat(32)
  await symlink(join(dir, `sess_${real}`), join(dir, `sess_${linked}`))
  refusedAs(t, await ask(s, linked), GW_ERR_SESSION_UNKNOWN, 'unknown')
  const folder = 'd'.repeat(32)
  await mkdir(join(dir, `sess_${folder}`))
  refusedAs(t, await ask(s, folder), GW_ERR_SESSION_UNKNOWN, 'unknown')
})
