// The pure parts of the browser support: which clients get HTML, which return targets the login
// accepts (a corpus of open-redirect attempts), the refusal template's language and its escaping.
import t from 'tap'
import { prefersHtml } from '../../src/browser/accept.js'
import { renderLoginPage } from '../../src/browser/login-page.js'
import {
  compileRefusalTemplate,
  DEFAULT_REFUSAL_PAGE,
  refusalValues,
} from '../../src/browser/refusal-page.js'
import { checkedReturnTarget, loginLocation, returnUrlFor } from '../../src/browser/return-target.js'
import { csrfKey, csrfToken, csrfTokenMatches, newCsrfCookieValue } from '../../src/login/csrf.js'

t.test('prefersHtml: browsers navigating get HTML, scripts and API clients keep JSON', async (t) => {
  const html = [
    // Chromium, Firefox and Safari navigations.
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
    'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'application/xhtml+xml',
    'TEXT/HTML',
    'application/json;q=0.5, text/html',
    'text/html;level=1;q=0.9, */*;q=0.1',
  ]
  const json = [
    undefined,
    '',
    '*/*', // curl, wget, fetch()
    'application/json',
    'application/json, text/html', // a tie goes to JSON
    'text/html;q=0.5, application/json',
    'text/html;q=0, */*',
    'text/*', // wildcards never mean HTML
    'image/avif,image/webp,*/*;q=0.8', // an <img> load
    'text/html;q=abc', // a broken weight is ignored
    'text/html;q=1.5',
    `${'x/y,'.repeat(400)}text/html`, // past the ranges read
  ]
  for (const a of html) t.ok(prefersHtml(a), `HTML for ${a}`)
  for (const a of json) t.notOk(prefersHtml(a), `JSON for ${String(a).slice(0, 60)}`)
})

const RULES = { routePrefix: '/download/', allowedOrigins: ['https://app.example.com'] }

t.test('checkedReturnTarget: a corpus of open-redirect attempts is refused', async (t) => {
  const hostile = [
    '//evil.com',
    '//evil.com/download/a.pdf',
    '/\\evil.com',
    '\\\\evil.com',
    '/download/\\evil.com',
    'https:evil.com',
    'https:/evil.com',
    'https://evil.com/download/a.pdf',
    'http://app.example.com/x', // right host, wrong scheme
    // Scheme tricks on the allowed origin itself: URL parsers accept them, the login does not.
    'https:app.example.com/x',
    'https:/app.example.com/x',
    ' https://app.example.com/',
    'https://app.example.com/a\r\nSet-Cookie: x=1',
    'https://app.example.com/\tx',
    'https://app.example.com\\@evil.com/',
    'https://app.example.com.evil.com/',
    'https://app.example.com@evil.com/',
    'https://user:pw@app.example.com/',
    '%2F%2Fevil.com',
    '/%2F%2Fevil.com',
    '/download/%2F%2Fevil.com',
    '/%2fdownload/a',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/download/a\r\nSet-Cookie: x=1',
    '/download/a%0d%0aSet-Cookie:x',
    '/download/../admin',
    '/download/%2e%2e/admin',
    '/download/a/../../admin',
    '/download/./a',
    '/download//a',
    '/download/a?b=1',
    '/download/a#frag',
    '/admin',
    '/downloads/a',
    '/download/',
    '/download/a b',
    '/download/caf\u00e9',
    ' /download/a',
    '/download/a%00',
    'download/a',
    '',
    'x'.repeat(5000),
  ]
  for (const raw of hostile)
    t.equal(checkedReturnTarget(raw, RULES), undefined, JSON.stringify(raw.slice(0, 60)))
  for (const raw of [undefined, null, 42, ['/download/a'], { x: 1 }])
    t.equal(checkedReturnTarget(raw, RULES), undefined, `not a string: ${JSON.stringify(raw)}`)
})

t.test('checkedReturnTarget: downloads and allowed origins come back rebuilt', async (t) => {
  t.equal(checkedReturnTarget('/download/a/b.pdf', RULES), '/download/a/b.pdf')
  t.equal(checkedReturnTarget('/download/with%20space.txt', RULES), '/download/with%20space.txt')
  t.equal(checkedReturnTarget('/download/caf%C3%A9.txt', RULES), '/download/caf%C3%A9.txt')
  // Re-encoded from the decoded segment: the same file, one spelling.
  t.equal(checkedReturnTarget('/download/a%2Db', RULES), '/download/a-b')
  t.equal(
    checkedReturnTarget('https://app.example.com/files?x=1', RULES),
    'https://app.example.com/files?x=1',
  )
  t.equal(checkedReturnTarget('HTTPS://APP.example.com/', RULES), 'https://app.example.com/')
})

t.test('returnUrlFor and loginLocation build the redirect from canonical segments only', async (t) => {
  const url = returnUrlFor(['a b', 'x?y#z', '..\\evil', '日本.pdf'], '/download/')
  t.equal(url, '/download/a%20b/x%3Fy%23z/..%5Cevil/%E6%97%A5%E6%9C%AC.pdf')
  t.equal(
    returnUrlFor(['a'], '/download/', 'https://files.example.com'),
    'https://files.example.com/download/a',
  )
  t.equal(loginLocation('/login', 'next', url), `/login?next=${encodeURIComponent(url).replace(/%20/g, '+')}`)
  t.equal(
    loginLocation(
      'https://app.example.com/sign-in?lang=en',
      'return_to',
      'https://files.example.com/download/a',
    ),
    'https://app.example.com/sign-in?lang=en&return_to=https%3A%2F%2Ffiles.example.com%2Fdownload%2Fa',
  )
})

t.test('the refusal template: placeholders only, everything escaped', async (t) => {
  const compiled = compileRefusalTemplate('<p>{{ message }}|{{code}}|{{ request_id }}</p>', 'page.html', '')
  if (!compiled.ok) throw new Error('does not compile')
  const html = compiled.page.render(
    refusalValues(404, 'GW_ERR_HIDDEN', `<script>alert("x")</script>&'`, '"><img src=x onerror=alert(1)>'),
  )
  t.equal(
    html,
    '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;|GW_ERR_HIDDEN|&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>',
  )
  const bad = compileRefusalTemplate('line one\n{{ nope }}\n{{ status\n{{#if x}}\n', 'page.html', '')
  t.notOk(bad.ok)
  if (!bad.ok) {
    t.same(
      bad.problems.map((p) => [p.file, p.line]),
      [
        ['page.html', 2],
        ['page.html', 3],
        ['page.html', 4],
      ],
    )
    t.match(bad.problems[0]?.message, /unknown placeholder \{\{ nope \}\}/)
  }
  const big = compileRefusalTemplate('x'.repeat(70_000), 'big.html', '')
  t.notOk(big.ok, 'a template over 64 KiB is refused')
})

t.test('the built-in refusal page says the reason and code and never a path', async (t) => {
  const html = DEFAULT_REFUSAL_PAGE.render(refusalValues(404, 'GW_ERR_HIDDEN', 'Not found', 'req-1'))
  t.match(html, /<h1>Not found<\/h1>/)
  t.match(html, /404 Not Found &middot; GW_ERR_HIDDEN &middot; request req-1/)
  t.match(html, /There is nothing to download at this address/)
})

t.test('the login page escapes what it places', async (t) => {
  const html = renderLoginPage({
    csrfToken: 'tok"en',
    returnParam: 'next',
    returnTo: '/download/"><script>',
    notice: '<b>',
  })
  t.match(html, /name="_csrf" value="tok&quot;en"/)
  t.match(html, /name="next" value="\/download\/&quot;&gt;&lt;script&gt;"/)
  t.notMatch(html, /<script>/)
  t.match(html, /&lt;b&gt;/)
  const out = renderLoginPage({ csrfToken: 't', returnParam: 'next', returnTo: undefined, user: '<alice>' })
  t.match(out, /Logged in as &lt;alice&gt;/)
  t.match(out, /action="\/logout"/)
})

t.test('CSRF tokens: bound to their cookie and to the key', async (t) => {
  const key = csrfKey((v) => `${v}.key-one`)
  const other = csrfKey((v) => `${v}.key-two`)
  const cookie = newCsrfCookieValue()
  const token = csrfToken(key, cookie)
  t.ok(csrfTokenMatches(key, cookie, token))
  t.notOk(csrfTokenMatches(key, newCsrfCookieValue(), token), 'another cookie')
  t.notOk(csrfTokenMatches(other, cookie, token), 'another key (rotated secrets)')
  t.notOk(csrfTokenMatches(key, cookie, `${token}x`))
  t.notOk(csrfTokenMatches(key, cookie, undefined))
  t.notOk(csrfTokenMatches(key, undefined, token))
  t.notOk(csrfTokenMatches(key, 'short', csrfToken(key, 'short')), 'a cookie the gateway did not make')
  t.notOk(csrfTokenMatches(key, cookie, [token]))
})
