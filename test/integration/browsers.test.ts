// Browsers through real nginx: a browser-like request without a session is sent to the login
// form, API clients keep their JSON, and a real headless Chromium goes from a private file's URL
// to the login form, logs in, downloads the file under its name, and reads the refusal page of a
// file it may not have. The same rules on the app alone: test/unit/browser-app.test.ts.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { startChromium } from '../harness/chromium.js'
import { rawRequest } from '../harness/http.js'
import { type Scenario, startScenario } from '../harness/scenario.js'

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

const scenario: Scenario = await startScenario()
t.teardown(() => scenario.stop())
const base = scenario.nginx.baseUrl

t.test('through nginx: a browser-like request gets 302 to the login form, then the form', async (t) => {
  const res = await fetch(`${base}/download/reports/q1.pdf`, {
    redirect: 'manual',
    headers: { accept: BROWSER_ACCEPT },
  })
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), '/login?next=%2Fdownload%2Freports%2Fq1.pdf')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('vary'), 'Accept, Cookie')
  t.equal(res.headers.get('x-accel-redirect'), null)
  const form = await fetch(`${base}${res.headers.get('location')}`, { headers: { accept: BROWSER_ACCEPT } })
  t.equal(form.status, 200)
  t.equal(form.headers.get('content-type'), 'text/html; charset=utf-8')
  const html = await form.text()
  t.match(html, /<form method="post" action="\/login">/)
  t.match(html, /name="next" value="\/download\/reports\/q1.pdf"/)
  t.match(html, /name="_csrf" value="[A-Za-z0-9_-]+"/)
  const line = scenario.gateway.logs().find((l) => l.code === 'GW_LOGIN_REDIRECT')
  t.match(line, { status: 302, path: '/reports/q1.pdf' })
})

t.test('through nginx: curl and API clients keep the JSON refusal; HEAD has no body', async (t) => {
  for (const accept of ['*/*', 'application/json']) {
    const res = await fetch(`${base}/download/reports/q1.pdf`, { redirect: 'manual', headers: { accept } })
    t.equal(res.status, 401, accept)
    t.same(await res.json(), { statusCode: 401, code: 'GW_ERR_NO_SESSION', message: 'Login required' })
  }
  const head = await rawRequest(
    scenario.nginx.port,
    `HEAD /download/hidden/secret.txt HTTP/1.1\r\nHost: x\r\nAccept: ${BROWSER_ACCEPT}\r\nConnection: close\r\n\r\n`,
  )
  t.equal(head.status, 404)
  t.equal(head.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(head.body.length, 0)
  const page = await fetch(`${base}/download/hidden/secret.txt`, { headers: { accept: BROWSER_ACCEPT } })
  t.equal(page.status, 404)
  const text = await page.text()
  t.match(text, /GW_ERR_HIDDEN/, "nginx passes the gateway's page through")
  t.notMatch(text, /secret/, 'the hidden file is not named')
})

// .ci/run installs Debian's chromium: without it this fails, it is never skipped.
t.test('headless Chromium: private file -> login form -> log in -> the file, by name', async (t) => {
  const browser = await startChromium()
  t.teardown(() => browser.stop())
  const page = await browser.browser.newPage()

  await page.goto(`${base}/download/reports/q1.pdf`)
  t.equal(new URL(page.url()).pathname, '/login', 'landed on the login form')
  t.equal(new URL(page.url()).searchParams.get('next'), '/download/reports/q1.pdf')
  t.ok(await page.$('form[action="/login"] input[name=password]'))

  await page.type('#username', 'alice')
  await page.type('#password', 'pw-alice')
  const downloaded = browser.nextDownload()
  // The 303 leads to the download: an attachment, so the navigation itself is aborted.
  await Promise.all([page.click('button[type=submit]'), downloaded])
  const name = await downloaded
  t.equal(name, 'q1.pdf')
  t.same(await readFile(join(browser.downloadDir, 'q1.pdf')), scenario.files['reports/q1.pdf'])

  // Logged in now: a file alice may not read shows the refusal page.
  const refused = await page.goto(`${base}/download/home/bob/own.txt`)
  t.equal(refused?.status(), 403)
  const text = (await page.evaluate('document.body.innerText')) as string
  t.match(text, /Forbidden/)
  t.match(text, /GW_ERR_DENIED/)
  t.match(text, /not allowed to download this file/)

  const hidden = await page.goto(`${base}/download/hidden/secret.txt`)
  t.equal(hidden?.status(), 404)
  t.notMatch((await page.evaluate('document.body.innerText')) as string, /secret/)
})
