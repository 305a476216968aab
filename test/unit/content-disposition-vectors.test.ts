// formatContentDisposition against the vendored vectors of jshttp/content-disposition v1.1.0 (its own
// test file as data, 88 of the assertions being Julian Reschke's TC 2231 browser cases).
//
// How the vectors are used:
// - format vectors: the file name each one describes (the basename the library derives, since a
//   served name is one path segment) is formatted by us; the header must parse back to exactly it.
// - parse vectors that yield a `filename`: that is a name a browser would save; formatting it
//   must round-trip. Names with `/`, `\` or a control character are counted but skipped: the
//   canonical path never lets one reach the formatter.
// - parse vectors that must throw: our strict grammar check (below) must reject every one, which
//   shows the check is not vacuous.
// Round trip means two independent readers agree: the installed `content-disposition` parse()
// (v2, which is lenient: it accepts most of the malformed headers v1.1.0 rejected, so it cannot
// be the only judge) and a strict reader of the exact RFC 6266 / RFC 8187 shape we emit.

import { parse } from 'content-disposition'
import fc from 'fast-check'
import t from 'tap'
import { formatContentDisposition, shortenFileName } from '../../src/delivery/content-disposition.js'
import { readCorpus } from '../harness/corpora.js'

interface Vector {
  suite: string
  test: string
  fn: 'format' | 'parse'
  args: unknown[]
  expected?: string | { type: string; parameters: Record<string, string> }
  throws?: string
}

const corpus = JSON.parse(
  readCorpus('content-disposition/content-disposition-v1.1.0-vectors.json').toString('utf8'),
) as { source_tag: string; vectors: Vector[] }
const vectors = corpus.vectors

/**
 * The one shape formatContentDisposition may produce: a type, a quoted ASCII fallback with no `"`,
 * `\` or `%`, and an RFC 8187 ext-value in UTF-8 using only attr-chars and upper-case escapes.
 */
const OUR_SHAPE =
  /^(attachment|inline); filename="([\x20\x21\x23\x24\x26-\x5b\x5d-\x7e]+)"; filename\*=UTF-8''((?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+)$/

// ignoreBOM keeps a leading U+FEFF: it is part of the name, and the default decoder would drop it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Reads a header of our shape strictly; null when it is not exactly that shape or not UTF-8. */
function strictRead(header: string): { type: string; fallback: string; filename: string } | null {
  const m = OUR_SHAPE.exec(header)
  if (!m) return null
  const ext = m[3] as string
  const bytes: number[] = []
  for (let i = 0; i < ext.length; i++) {
    if (ext[i] === '%') {
      bytes.push(Number.parseInt(ext.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(ext.charCodeAt(i))
  }
  try {
    return { type: m[1] as string, fallback: m[2] as string, filename: utf8.decode(Uint8Array.from(bytes)) }
  } catch {
    return null
  }
}

/** No lone surrogate: names come from decoded UTF-8, which cannot hold one. */
function wellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)
}

/** A name our formatter could be asked for: one path segment the canonical path lets through. */
function servable(name: string): boolean {
  if (name.length === 0 || name === '.' || name === '..') return false
  for (const ch of name) {
    const c = ch.codePointAt(0) as number
    if (ch === '/' || ch === '\\' || c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false
  }
  return true
}

/**
 * Checks one name both ways; returns what is wrong (empty when it round-trips). A name too long
 * for browsers comes back shortened (content-disposition.test.ts checks how).
 */
function roundTripProblems(type: 'attachment' | 'inline', served: string): string[] {
  const header = formatContentDisposition(type, served)
  const name = shortenFileName(served)
  const problems: string[] = []
  if (!/^[\x20-\x7e]+$/.test(header)) problems.push('header is not printable ASCII')
  const strict = strictRead(header)
  if (strict === null) problems.push(`not our strict shape: ${header}`)
  else {
    if (strict.type !== type) problems.push(`strict type ${strict.type}`)
    if (strict.filename !== name) problems.push(`strict filename ${JSON.stringify(strict.filename)}`)
  }
  const lenient = parse(header)
  if (lenient.type !== type) problems.push(`parse() type ${lenient.type}`)
  if (lenient.parameters.filename !== name) {
    problems.push(`parse() filename ${JSON.stringify(lenient.parameters.filename)}`)
  }
  return problems
}

t.test('vectors: the corpus is the v1.1.0 test file, all 166 assertions', async (t) => {
  t.equal(corpus.source_tag, 'v1.1.0')
  t.equal(vectors.length, 166)
})

t.test('format vectors: every file name they describe round-trips through our formatter', async (t) => {
  let used = 0
  let noName = 0
  for (const v of vectors.filter((v) => v.fn === 'format')) {
    const [fileName, options] = v.args as [unknown, { type?: unknown } | undefined]
    if (typeof fileName !== 'string' || typeof v.expected !== 'string') {
      noName++ // no file name (or an argument error the library asserts): nothing we could serve
      continue
    }
    // The name the library itself settled on: the basename of a path, the Unicode name under
    // any fallback. A served name is that one segment.
    const name = parse(v.expected).parameters.filename as string
    if (!/[/\\]/.test(fileName)) t.equal(name, fileName, `${v.test}: the vector's name is its argument`)
    const type =
      typeof options?.type === 'string' && options.type.toLowerCase() === 'inline' ? 'inline' : 'attachment'
    t.same(roundTripProblems(type, name), [], `${v.suite} > ${v.test}: ${JSON.stringify(name)}`)
    used++
  }
  t.comment(`format vectors: ${used} file names checked, ${noName} without a file name`)
  t.equal(used + noName, 42)
  t.ok(used >= 30)
})

t.test('parse vectors: every file name a browser would save round-trips through our formatter', async (t) => {
  let used = 0
  let unservable = 0
  let noName = 0
  for (const v of vectors.filter((v) => v.fn === 'parse' && typeof v.expected === 'object')) {
    const expected = v.expected as { type: string; parameters: Record<string, string> }
    const name = expected.parameters.filename
    if (name === undefined) {
      noName++
      continue
    }
    if (!servable(name)) {
      unservable++
      t.comment(`skipped (never reaches the formatter): ${JSON.stringify(name)}`)
      continue
    }
    const type = expected.type === 'inline' ? 'inline' : 'attachment'
    t.same(roundTripProblems(type, name), [], `${v.suite} > ${v.test}: ${JSON.stringify(name)}`)
    used++
  }
  t.comment(
    `parse vectors with a result: ${used} names checked, ${unservable} unservable, ${noName} without a filename`,
  )
  t.equal(used + unservable + noName, 76)
  t.ok(used >= 50)
})

t.test('parse vectors that must throw: our strict shape rejects every malformed header', async (t) => {
  const malformed = vectors.filter((v) => v.fn === 'parse' && v.throws !== undefined)
  let lenientAccepted = 0
  for (const v of malformed) {
    const header = v.args[0]
    if (typeof header !== 'string') {
      t.pass(`${v.test}: not a string`)
      continue
    }
    t.equal(strictRead(header), null, `${v.test}: ${JSON.stringify(header)}`)
    try {
      parse(header)
      lenientAccepted++
    } catch {
      // v2 rejects this one too
    }
  }
  t.comment(
    `malformed parse vectors: ${malformed.length} rejected by the strict reader; ` +
      `the installed parse() (v2) accepts ${lenientAccepted} of them`,
  )
  t.equal(malformed.length, 48)
})

t.test('the strict reader accepts the library headers that have exactly our shape', async (t) => {
  // Calibration the other way: a header of our shape from the library reads back to its name.
  const header = 'attachment; filename="? rates.pdf"; filename*=UTF-8\'\'%E2%82%AC%20rates.pdf'
  t.ok(
    vectors.some((v) => v.expected === header),
    'the header is one of the vectors',
  )
  t.same(strictRead(header), { type: 'attachment', fallback: '? rates.pdf', filename: '\u20ac rates.pdf' })
})

t.test('property: any well-formed Unicode name round-trips and yields an ASCII header', async (t) => {
  let runs = 0
  const name = fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 32 }),
      fc.string({ unit: fc.constantFrom(...'"\\%;=\'*?#+ \u00e9\u20ac\u{1f600}\u0301\u202e'), minLength: 1 }),
    )
    .filter(wellFormed)
  fc.assert(
    fc.property(name, fc.constantFrom('attachment' as const, 'inline' as const), (n, type) => {
      runs++
      const problems = roundTripProblems(type, n)
      if (problems.length > 0) throw new Error(`${JSON.stringify(n)}: ${problems.join('; ')}`)
    }),
    { numRuns: 3000 },
  )
  t.comment(`property runs: ${runs}`)
})

t.test('a leading byte order mark is part of the name and survives the round trip', async (t) => {
  // Found by the property above (a name of U+FEFF then NUL): the reader once dropped the BOM.
  for (const n of ['\ufeff\u0000', '\ufeffa.pdf', 'a\ufeff.pdf']) {
    t.same(roundTripProblems('attachment', n), [], JSON.stringify(n))
  }
})
