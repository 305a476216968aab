// Browsers against the real app (Fastify's inject): an anonymous download that prefers HTML is
// sent to the login form, refusals to browsers are HTML pages that name no file, API clients keep
// JSON exactly, and the form's CSRF check, login and return target work as documented. The same
// through real nginx and a real browser: test/integration/browsers.test.ts.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { makeFileTree } from '../harness/files.js'
import { prepareGateway } from '../harness/gateway.js'
import { scenarioUsersYaml } from '../harness/scenario.js'

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
const tree = await makeFileTree({ 'home/alice/own.txt': 'alice only\n', 'hidden/plans.txt': 'x\n' })
t.teardown(() => tree.cleanup())

async function appWith(browserYaml = '') {
  const prepared = await prepareGateway({
    configYaml: `
delivery:
  mode: direct
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
${browserYaml}`,
    aclFiles: {
      '10.yaml': `rules:
  - id: homes
    path: /home/{user}/**
    allow: authenticated
  - id: hidden
    path: /hidden/**
    deny: anyone
    refusal: 404
`,
    },
    usersYaml: await scenarioUsersYaml(),
    filesRoot: tree.root,
  })
  const store = new MemorySessionStore()
  const app: FastifyInstance = await prepared.build(store)
  t.teardown(async () => {
    await app.close()
    await store.close()
    await prepared.close()
  })
  return { app, decisions: () => prepared.logs().filter((l) => typeof l.code === 'string') }
}

const { app, decisions } = await appWith()

t.test('an anonymous browser is redirected to the login form with the download as next', async (t) => {
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await app.inject({
      method,
      url: '/download/home/alice/own%20file.txt?x=%0d%0a',
      headers: { accept: BROWSER_ACCEPT, host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    })
    t.equal(res.statusCode, 302, method)
    t.equal(res.headers.location, '/login?next=%2Fdownload%2Fhome%2Falice%2Fown%2520file.txt', method)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers.vary, 'Accept, Cookie')
    t.equal(res.headers['x-accel-redirect'], undefined)
    t.equal(res.body, '')
  }
  const line = decisions().at(-1)
  t.match(line, { status: 302, code: 'GW_LOGIN_REDIRECT', path: '/home/alice/own file.txt' })
  t.match(line?.detail, /^GW_ERR_NO_SESSION/)
  // A stale session cookie is no session either.
  const stale = await app.inject({
    url: '/download/home/alice/own.txt',
    headers: { accept: BROWSER_ACCEPT, cookie: 'sid=s%3Anope.bad' },
  })
  t.equal(stale.statusCode, 302)
})

t.test('API clients keep the JSON 401 exactly; a browser refused gets the HTML page', async (t) => {
  for (const accept of [undefined, '*/*', 'application/json', 'text/html, application/json']) {
    const res = await app.inject({
      url: '/download/home/alice/own.txt',
      headers: accept === undefined ? {} : { accept },
    })
    t.equal(res.statusCode, 401, String(accept))
    t.equal(res.body, '{"statusCode":401,"code":"GW_ERR_NO_SESSION","message":"Login required"}')
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers.vary, 'Accept')
  }
  const hidden = await app.inject({ url: '/download/hidden/plans.txt', headers: { accept: BROWSER_ACCEPT } })
  t.equal(hidden.statusCode, 404, 'a hidden file is not a login redirect: that would say something is there')
  t.equal(hidden.headers['content-type'], 'text/html; charset=utf-8')
  t.match(hidden.headers['content-security-policy'], /default-src 'none'/)
  t.match(hidden.body, /<h1>Not found<\/h1>/)
  t.match(hidden.body, /GW_ERR_HIDDEN/)
  t.notMatch(hidden.body, /plans|hidden\//, 'no file name')
  const bad = await app.inject({
    url: '/download/%3Cscript%3E%2Fx',
    headers: { accept: BROWSER_ACCEPT },
  })
  t.equal(bad.statusCode, 400)
  t.notMatch(bad.body, /script/i, 'the raw path is never echoed')
  const head = await app.inject({
    method: 'HEAD',
    url: '/download/hidden/plans.txt',
    headers: { accept: BROWSER_ACCEPT },
  })
  t.equal(head.statusCode, 404)
  t.equal(head.body, '', 'HEAD gets no body')
})

async function formPage(query = '') {
  const res = await app.inject({ url: `/login${query}`, headers: { accept: BROWSER_ACCEPT } })
  const cookie = (res.headers['set-cookie'] as string).split(';')[0] as string
  const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1] as string
  return { res, cookie, token }
}

const post = (body: string, headers: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER_ACCEPT, ...headers },
    payload: body,
  })

t.test('GET /login: the form, with a CSRF cookie and token and the checked next', async (t) => {
  const { res, cookie, token } = await formPage('?next=%2Fdownload%2Fhome%2Falice%2Fown.txt')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.headers['content-security-policy'], /form-action 'self'/)
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.match(res.headers['set-cookie'], /^gw_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/)
  t.match(cookie, /^gw_csrf=/)
  t.ok(token)
  t.match(res.body, /name="next" value="\/download\/home\/alice\/own.txt"/)
  for (const evil of ['//evil.com', 'https://evil.com/', '/download/../admin', 'javascript:alert(1)']) {
    const page = await app.inject({ url: `/login?next=${encodeURIComponent(evil)}` })
    t.notMatch(page.body, /name="next"/, `${evil} is dropped from the form`)
  }
  t.match(decisions().at(-1), { code: 'GW_LOGIN_FORM', status: 200 })
})

t.test('a wrong password in the form shows the form again, with the reason and the same next', async (t) => {
  const { cookie, token } = await formPage()
  const res = await post(
    `username=alice&password=wrong&next=%2Fdownload%2Fhome%2Falice%2Fown.txt&_csrf=${encodeURIComponent(token)}`,
    { origin: 'http://files.example', cookie },
  )
  t.equal(res.statusCode, 401)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['set-cookie'], undefined, 'no session')
  t.match(res.body, /role="alert">Wrong user name or password\.</)
  t.match(res.body, /<form method="post" action="\/login">/)
  t.match(res.body, /name="next" value="\/download\/home\/alice\/own.txt"/)
  t.match(res.body, new RegExp(`name="_csrf" value="${token}"`), 'the same token: the form still posts')
  t.match(decisions().at(-1), { code: 'GW_ERR_LOGIN_FAILED', status: 401, user: 'alice' })
  const api = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/json' },
    payload: { username: 'alice', password: 'wrong' },
  })
  t.equal(api.statusCode, 401)
  t.match(JSON.parse(api.body), { code: 'GW_ERR_LOGIN_FAILED' }, 'an API client keeps its JSON')
})

t.test(
  'a browser form post without the right token is refused, with it the login goes to next',
  async (t) => {
    const { cookie, token } = await formPage()
    const body = (extra: string) =>
      `username=alice&password=pw-alice&next=%2Fdownload%2Fhome%2Falice%2Fown.txt${extra}`
    const origin = { origin: 'http://files.example' }
    const cases: [string, Record<string, string>, string][] = [
      ['no token', { ...origin, cookie }, ''],
      ['no cookie', origin, `&_csrf=${token}`],
      ['a token for another cookie', { ...origin, cookie: `gw_csrf=${'A'.repeat(43)}` }, `&_csrf=${token}`],
      ['a cross-site post', { 'sec-fetch-site': 'cross-site', cookie }, '&_csrf=forged'],
    ]
    for (const [name, headers, extra] of cases) {
      const res = await post(body(extra), headers)
      t.equal(res.statusCode, 403, name)
      t.equal(res.headers['set-cookie'], undefined, `${name}: no session`)
      t.match(res.body, /GW_ERR_LOGIN_CSRF/, name)
      t.match(decisions().at(-1), { code: 'GW_ERR_LOGIN_CSRF', status: 403 })
    }
    const ok = await post(body(`&_csrf=${encodeURIComponent(token)}`), { ...origin, cookie })
    t.equal(ok.statusCode, 303)
    t.equal(ok.headers.location, '/download/home/alice/own.txt')
    t.match(ok.headers['set-cookie'], /^sid=/)
    const hostile = await post(`username=alice&password=pw-alice&_csrf=${token}&next=%2F%2Fevil.com`, {
      ...origin,
      cookie,
    })
    t.equal(hostile.statusCode, 303)
    t.equal(hostile.headers.location, '/login', 'a hostile next is dropped: back to the login page')
  },
)

t.test(
  'posts that no other site can forge need no token: JSON, and clients that are not browsers',
  async (t) => {
    const json = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      payload: JSON.stringify({ username: 'alice', password: 'pw-alice' }),
    })
    t.equal(json.statusCode, 200)
    t.same(json.json(), { user: 'alice', groups: ['finance'] })
    const curl = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=alice&password=pw-alice',
    })
    t.equal(curl.statusCode, 200, 'curl -d keeps working')
  },
)

t.test(
  'logged in: the form offers log-out (CSRF-checked) and GET /login?next= goes straight back',
  async (t) => {
    const { cookie, token } = await formPage()
    const login = await post(`username=alice&password=pw-alice&_csrf=${token}`, {
      origin: 'http://x',
      cookie,
    })
    t.equal(login.headers.location, '/login')
    const sid = (login.headers['set-cookie'] as string).split(';')[0] as string
    const page = await app.inject({ url: '/login', headers: { cookie: `${sid}; ${cookie}` } })
    t.match(page.body, /Logged in as alice/)
    const back = await app.inject({
      url: '/login?next=%2Fdownload%2Fhome%2Falice%2Fown.txt',
      headers: { cookie: sid },
    })
    t.equal(back.statusCode, 303)
    t.equal(back.headers.location, '/download/home/alice/own.txt')
    const forged = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: {
        origin: 'http://evil',
        cookie: `${sid}; ${cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: '',
    })
    t.equal(forged.statusCode, 403)
    const out = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: {
        origin: 'http://x',
        accept: BROWSER_ACCEPT,
        cookie: `${sid}; ${cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `_csrf=${token}`,
    })
    t.equal(out.statusCode, 303)
    t.equal(out.headers.location, '/login')
  },
)

t.test('browser.login_redirect: an absolute login URL of the main app, with the public origin', async (t) => {
  const other = await appWith(`browser:
  login_redirect:
    url: https://app.example.com/sign-in
    return_param: return_to
  public_origin: https://files.example.com
`)
  const res = await other.app.inject({
    url: '/download/home/alice/own.txt',
    headers: { accept: BROWSER_ACCEPT },
  })
  t.equal(res.statusCode, 302)
  t.equal(
    res.headers.location,
    'https://app.example.com/sign-in?return_to=https%3A%2F%2Ffiles.example.com%2Fdownload%2Fhome%2Falice%2Fown.txt',
  )
  const off = await appWith('browser:\n  login_redirect:\n    enabled: false\n')
  const page = await off.app.inject({
    url: '/download/home/alice/own.txt',
    headers: { accept: BROWSER_ACCEPT },
  })
  t.equal(page.statusCode, 401)
  t.match(page.body, /You need to log in/)
})
