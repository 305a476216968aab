import { parseCookie as parse } from 'cookie'
import fc from 'fast-check'
import t from 'tap'
import { decodeCookieValue, readSentCookie } from '../../src/session/cookie-header.js'

/** One cookie's value as the gateway reads it: found as sent, then URI-decoded. */
function readCookie(header: string | undefined, name: string): string | undefined {
  const sent = readSentCookie(header, name)
  return sent === undefined ? undefined : decodeCookieValue(sent)
}

t.test('cookie header: finds one cookie among others', async (t) => {
  t.equal(readCookie('a=1; sid=abc.def; b=2', 'sid'), 'abc.def')
  t.equal(readCookie('sid=abc', 'sid'), 'abc')
  t.equal(readCookie('  sid =  abc  ;x=1', 'sid'), 'abc')
  t.equal(readCookie('xsid=1; sidx=2', 'sid'), undefined, 'names match whole')
  t.equal(readCookie(undefined, 'sid'), undefined)
  t.equal(readCookie('', 'sid'), undefined)
  t.equal(readCookie('sid', 'sid'), undefined, 'a pair without = is skipped')
})

t.test('cookie header: the first cookie with the name wins', async (t) => {
  t.equal(readCookie('sid=first; sid=second', 'sid'), 'first')
})

t.test('cookie header: values are URI-decoded, kept as is when that fails', async (t) => {
  t.equal(readCookie('app.sid=s%3Aabc.def', 'app.sid'), 's:abc.def')
  t.equal(readCookie('sid=100%', 'sid'), '100%')
})

t.test('cookie header: reads what the cookie package (inside @fastify/cookie) reads', async (t) => {
  const token = fc.stringMatching(/^[A-Za-z0-9._%:+/=-]{0,12}$/)
  const name = fc.constantFrom('sid', 'app.sid', 'other', 'x')
  const pair = fc.tuple(name, token, fc.constantFrom('', ' ', '  '))
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 6 }), (pairs) => {
      const header = pairs.map(([n, v, pad]) => `${pad}${n}=${v}`).join(';')
      for (const n of ['sid', 'app.sid']) {
        if (readCookie(header, n) !== parse(header)[n]) return false
      }
      return true
    }),
    { numRuns: 2000 },
  )
  t.pass('2,000 random headers agree')
})
