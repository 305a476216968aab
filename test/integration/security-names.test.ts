// Hostile file names on disk, downloaded by a user the ACL allows, in both delivery modes (nginx +
// x-accel, and the gateway alone in direct mode). Each name either arrives byte for byte with a
// Content-Disposition that parses back to exactly that name, or is refused with a 4xx and a
// decision log line; never another file's bytes, never a header the name injected.
//
// The policy the expectations encode (src/paths/canonical-path.ts): every name that is valid UTF-8
// and holds no control character (C0, DEL, C1) and no backslash is served; those, names that are
// not UTF-8, and names over 255 bytes are refused with 400. A request spells a name the way a
// browser does: each segment percent-encoded (encodeURIComponent, or byte by byte for names that
// are not UTF-8). Decoy files sit where a mis-decoded name would land (`pct%41.txt` -> `pctA.txt`,
// `q?x=1` -> `q`, `a+b.txt` -> `a b.txt`, ...), each with its own contents, so a wrong file shows.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseDisposition } from 'content-disposition'
import t, { type Test } from 'tap'
import { shortenFileName } from '../../src/delivery/content-disposition.js'
import { DELIVERY_MODES, type DeliveryMode, startModeScenario } from '../harness/direct-scenario.js'
import { decisionAfter, forbiddenHeaders, framingProblems, rawGetWhole } from '../harness/response-checks.js'

interface HostileName {
  /** For titles: the name as JSON, or its bytes in hex when it is not UTF-8. */
  label: string
  bytes: Buffer
  /** The name as text, when it is valid UTF-8. */
  text: string | null
  expect: 'serve' | 'refuse'
  /** false: too long to create; only requested. */
  onDisk: boolean
}

/** An ASCII title: TAP output breaks on some characters (U+2028 ends a line for its parser). */
function labelOf(name: string | Buffer): string {
  if (typeof name !== 'string') return `bytes ${name.toString('hex')}`
  const short = name.length > 40 ? `${name.slice(0, 24)}...(${Buffer.byteLength(name)} bytes)` : name
  return JSON.stringify(short).replace(
    /[^\x20-\x7e]/gu,
    (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`,
  )
}

const serve = (text: string): HostileName => ({
  label: labelOf(text),
  bytes: Buffer.from(text, 'utf8'),
  text,
  expect: 'serve',
  onDisk: true,
})
const refuse = (name: string | Buffer, onDisk = true): HostileName => ({
  label: labelOf(name),
  bytes: typeof name === 'string' ? Buffer.from(name, 'utf8') : name,
  text: typeof name === 'string' ? name : null,
  expect: 'refuse',
  onDisk,
})

const NAMES: HostileName[] = [
  // Spaces and the characters URLs, query strings and nginx's X-Accel-Redirect parsing care about.
  serve('with space.txt'),
  serve(' leading space.txt'),
  serve('trailing space.txt '),
  serve('100%.txt'),
  serve('pct%41.txt'),
  serve('%2e%2e'),
  serve('..%2f..%2fsecret'),
  serve('%00.txt'),
  serve('%0d%0aX-Injected: 1.txt'),
  serve('what?.txt'),
  serve('?'),
  serve('q?x=1&y=2'),
  serve('hash#tag.txt'),
  serve('#'),
  serve('a+b.txt'),
  serve('+'),
  serve('a=b&c=d'),
  serve('semi;colon.txt'),
  serve('a;filename=evil.exe'),
  // Quotes: the quoted-string fallback must not end early.
  serve('quote"d.txt'),
  serve('"; filename="evil.exe'),
  serve("it's.txt"),
  serve('back`tick.txt'),
  // Leading dashes and dots: option-like and hidden names, but plain names all the same.
  serve('-leading-dash.txt'),
  serve('--'),
  serve('-'),
  serve('.leading-dot'),
  serve('..hidden'),
  serve('...'),
  serve('....'),
  // Glob characters must not confuse the ACL matcher.
  serve('[abc].txt'),
  serve('{a,b}.txt'),
  serve('*'),
  serve('**'),
  serve('$HOME'),
  serve('~'),
  serve('<img src=x onerror=alert(1)>.html'),
  // Unicode: two normal forms are two files; invisible and bidi characters are still names.
  serve('\u00c5ngstr\u00f6m-nfc.txt'),
  serve('A\u030angstro\u0308m-nfd.txt'),
  serve('caf\u00e9.txt'),
  serve('cafe\u0301.txt'),
  serve('zero\u200bwidth.txt'),
  serve('rtl\u202etxt.exe'),
  serve('\ufeffbom.txt'),
  serve('\uff0e\uff0e'),
  serve('line\u2028sep.txt'),
  serve('\u65e5\u672c\u8a9e.pdf'),
  serve('emoji \u{1f600}.png'),
  // 255 bytes, Linux's NAME_MAX, in one-, two-, three- and four-byte characters.
  serve(`${'L'.repeat(251)}.txt`),
  serve(`${'\u00e9'.repeat(127)}x`),
  serve('\u65e5'.repeat(85)),
  serve(`${'\u{1f600}'.repeat(63)}abc`),
  // Refused: the raw material of header injection, Windows separators, controls.
  refuse('back\\slash.txt'),
  refuse('\\'),
  refuse('cr\rname.txt'),
  refuse('lf\nname.txt'),
  refuse('crlf\r\nX-Injected: 1'),
  refuse('tab\tname.txt'),
  refuse('del\x7f.txt'),
  refuse('nel\u0085.txt'),
  refuse('esc\x1b[31m.txt'),
  // Valid Linux names that are not UTF-8: created with Buffer paths.
  refuse(Buffer.from([0x66, 0xff, 0x2e, 0x74, 0x78, 0x74])),
  refuse(Buffer.from('caf\xe9.txt', 'latin1')),
  refuse(Buffer.from([0xc0, 0xae, 0xc0, 0xae])),
  refuse(Buffer.from([0xed, 0xa0, 0x80, 0x2e, 0x74, 0x78, 0x74])),
  refuse(Buffer.from([0x61, 0xe6, 0x97])),
  // Over 255 bytes: no file system here can hold them, so only the request carries them.
  refuse('L'.repeat(256), false),
  refuse('\u00e9'.repeat(128), false),
]

/** Where a mis-decoded or cut name would land, each with contents of its own. */
const DECOYS = ['pctA.txt', 'q', 'what', 'hash', 'a b.txt', 'evil.exe', 'pct']

const DIR = 'names/hostile'

/** Percent-encodes a name as a browser would; byte by byte when it is not UTF-8. */
function encodeName(n: HostileName): string {
  if (n.text !== null) return encodeURIComponent(n.text)
  let out = ''
  for (const b of n.bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  return out
}

// A deny rule written in NFC must also cover the NFD spelling: rules see the NFC path.
const NFC_DENY_ACL = `rules:
  - id: nfc-deny
    path: /names/deny/\u00c5ngstr\u00f6m.txt
    deny: anyone
`

const contents = new Map<string, Buffer>()

function prepareTree(root: string): void {
  const dir = join(root, DIR)
  mkdirSync(dir, { recursive: true })
  NAMES.forEach((n, i) => {
    if (!n.onDisk) return
    const body = Buffer.from(`hostile name #${i} ${randomBytes(8).toString('hex')}\n`)
    contents.set(n.bytes.toString('hex'), body)
    // A Buffer path: the name's exact bytes, whether or not they are UTF-8.
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), n.bytes]), body)
  })
  for (const decoy of DECOYS) writeFileSync(join(dir, decoy), `decoy ${decoy}\n`)
  writeFileSync(join(root, 'secret'), 'decoy at the root\n')
  mkdirSync(join(root, 'names/deny'))
  writeFileSync(join(root, 'names/deny/\u00c5ngstr\u00f6m.txt'), 'nfc denied\n')
  writeFileSync(join(root, 'names/deny/A\u030angstro\u0308m.txt'), 'nfd denied\n')
  writeFileSync(join(root, 'names/deny/other.txt'), 'not denied\n')
}

for (const mode of DELIVERY_MODES) {
  t.test(`hostile names (${mode}): each is served exactly or refused with a logged 4xx`, async (t) => {
    await runNames(t, mode)
  })
}

async function runNames(t: Test, mode: DeliveryMode): Promise<void> {
  contents.clear()
  const s = await startModeScenario(mode, { prepareTree, aclFiles: { '05-names.yaml': NFC_DENY_ACL } })
  t.teardown(() => s.stop())
  const alice = await s.login('alice')
  const outcomes = new Map<string, number>()
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)

  for (const n of NAMES) {
    const expected = contents.get(n.bytes.toString('hex'))
    const from = s.gateway.logs().length
    const res = await rawGetWhole(s.port, `/download/${DIR}/${encodeName(n)}`, { cookie: alice })
    count(`${n.expect} -> ${res.status}`)
    t.same(framingProblems(res), [], `${n.label}: a clean single response`)
    t.same(forbiddenHeaders(res), [], `${n.label}: no injected or forbidden header`)
    const others = [...contents.values()].filter((other) => other !== expected && res.raw.includes(other))
    t.same(others, [], `${n.label}: no other file's bytes`)
    t.notOk(/decoy/.test(res.body.toString('latin1')), `${n.label}: not a decoy`)
    if (n.expect === 'serve') {
      t.equal(res.status, 200, `${n.label}: served`)
      t.ok(expected && res.body.equals(expected), `${n.label}: its own bytes`)
      const disposition = res.headers['content-disposition']
      t.equal(typeof disposition, 'string', `${n.label}: one Content-Disposition`)
      // Names over 240 bytes are suggested shortened, keeping the extension (docs/file-names.md).
      t.equal(
        parseDisposition(disposition as string).parameters.filename,
        n.text === null ? null : shortenFileName(n.text),
        `${n.label}: disposition parses back`,
      )
      t.equal(res.headers['cache-control'], 'private, no-store', `${n.label}: not cacheable`)
    } else {
      t.ok(res.status >= 400 && res.status < 500, `${n.label}: refused with a 4xx (${res.status})`)
      if (expected) t.notOk(res.raw.includes(expected), `${n.label}: none of its bytes`)
      t.match(JSON.parse(res.body.toString()), { code: /^GW_ERR_/ }, `${n.label}: a coded refusal`)
      const line = await decisionAfter(s.gateway, from)
      t.match(line, { status: res.status, code: /^GW_ERR_/ }, `${n.label}: a decision log line`)
    }
  }

  // The same file through its two normal forms: a rule written in NFC denies both.
  for (const spelling of ['\u00c5ngstr\u00f6m.txt', 'A\u030angstro\u0308m.txt']) {
    const res = await rawGetWhole(s.port, `/download/names/deny/${encodeURIComponent(spelling)}`, {
      cookie: alice,
    })
    count(`nfc-deny -> ${res.status}`)
    t.equal(res.status, 403, `${spelling.normalize('NFC') === spelling ? 'NFC' : 'NFD'} spelling denied`)
    t.notOk(/denied/.test(res.body.toString()), 'no bytes of the denied file')
  }
  t.equal((await rawGetWhole(s.port, '/download/names/deny/other.txt', { cookie: alice })).status, 200)

  const served = NAMES.filter((n) => n.expect === 'serve').length
  t.comment(
    `${mode}: ${NAMES.length} hostile names tried (${served} to serve, ${NAMES.length - served} to refuse, ` +
      `${NAMES.filter((n) => !n.onDisk).length} over 255 bytes by request only) + 2 NFC/NFD deny spellings`,
  )
  t.comment(`${mode}: outcomes { ${[...outcomes].map(([k, v]) => `${k}: ${v}`).join(', ')} }`)
}
