// Share links and access tokens end to end: real nginx from the project's template, the gateway in
// x-accel mode, Redis holding revocations, counts and token hashes. Links come from the admin API,
// the CLI and, for the key cases, signed here with keys the gateway does or does not hold.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { main as cli } from '../../src/cli.js'
import { issueLink } from '../../src/credentials/issue.js'
import { parseLinkKeys } from '../../src/credentials/links/link-keys.js'
import { rawGet } from '../harness/http.js'
import {
  SCENARIO_COMMAND_TIMEOUT_MS,
  type Scenario,
  startScenario,
  X_ACCEL_REDIS_CONFIG,
} from '../harness/scenario.js'

const run = promisify(execFile)

const OLD_KEY = `k1:${'1'.repeat(40)}`
const NEW_KEY = `k2:${'2'.repeat(40)}`
const REMOVED_KEY = `k0:${'0'.repeat(40)}`
const ADMIN_TOKEN = 'admin-token-admin-token-admin-token-0123'
const ENV = { GATEWAY_LINK_KEYS: `${NEW_KEY}\n${OLD_KEY}`, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN }
const CONFIG = `${X_ACCEL_REDIS_CONFIG}links:\n  max_ttl: 7d\nadmin:\n  port: 0\n`

// Before the scenario's own rules (files load in name order): readers of their own folder may share.
const SHARE_ACL = `rules:
  - id: homes-shareable
    path: /home/{user}/**
    allow: authenticated
    share: {max_ttl: 1d}
`
const scenario: Scenario = await startScenario(CONFIG, { env: ENV, aclFiles: { '05-share.yaml': SHARE_ACL } })
t.teardown(() => scenario.stop())
const { nginx, gateway, files } = scenario
const adminUrl = gateway.adminUrl as string
/** Every secret handed out, to look for in the logs at the end. */
const secrets: string[] = [ADMIN_TOKEN]

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${nginx.baseUrl}${path}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  let code: string | undefined
  if (res.status !== 200) code = (JSON.parse(body.toString()) as { code: string }).code
  return { status: res.status, headers: res.headers, body, code }
}

async function admin(method: string, path: string, body?: object, token = ADMIN_TOKEN) {
  const res = await fetch(`${adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

async function createLink(body: object): Promise<{ id: string; url: string; token: string }> {
  const res = await admin('POST', '/links', { issuer: 'alice', ttl: '1h', ...body })
  if (res.status !== 201) throw new Error(`link not created: ${JSON.stringify(res.json)}`)
  secrets.push(res.json.token as string)
  return res.json as { id: string; url: string; token: string }
}

function signed(keys: string, path: string, nowSeconds: number, ttl = '1h') {
  const parsed = parseLinkKeys(keys)
  if (!parsed.ok || parsed.ring === null) throw new Error('keys')
  const issued = issueLink(
    { path, ttl, issuer: 'ops' },
    parsed.ring,
    { maxTtlSeconds: 86_400, routePrefix: '/download/' },
    nowSeconds,
  )
  if (!issued.ok) throw new Error(issued.message)
  secrets.push(issued.value.token)
  return issued.value.url
}

const now = () => Math.floor(Date.now() / 1000)

t.test('a link downloads its file like a session download, without a session', async (t) => {
  const link = await createLink({ path: '/reports/q1.pdf' })
  t.match(link.url, /^\/download\/reports\/q1\.pdf\?gwl=k2\./, 'signed with the newest key')
  const res = await get(link.url)
  t.equal(res.status, 200)
  t.ok(res.body.equals(files['reports/q1.pdf'] as Buffer), 'same bytes')
  t.equal(res.headers.get('content-disposition'), `attachment; filename="q1.pdf"; filename*=UTF-8''q1.pdf`)
  t.equal(res.headers.get('cache-control'), 'private, no-store')
  t.equal(res.headers.get('x-accel-redirect'), null)
  const line = gateway.logs().findLast((l) => l.rule === `link:${link.id}`)
  t.match(
    line,
    { code: 'GW_ALLOW', status: 200, path: '/reports/q1.pdf', user: 'alice' },
    'the line names link and issuer',
  )
})

t.test('a link never serves another file, and a traversal is refused as always', async (t) => {
  const link = await createLink({ path: '/reports/q1.pdf' })
  const query = link.url.slice(link.url.indexOf('?'))
  const swapped = await get(`/download/home/alice/own.txt${query}`)
  t.equal(swapped.status, 403)
  t.equal(swapped.code, 'GW_ERR_LINK_WRONG_PATH')
  const dotted = await rawGet(nginx.port, `/download/reports/../home/alice/own.txt${query}`)
  t.equal(dotted.status, 400, 'the path is canonicalised before the link is read')
  const encoded = await rawGet(nginx.port, `/download/reports/%2e%2e/home/alice/own.txt${query}`)
  t.equal(encoded.status, 400)
})

t.test('a folder link serves below its folder only', async (t) => {
  const link = await createLink({ path: '/home/alice/' })
  const query = link.url.slice(link.url.indexOf('?'))
  t.equal((await get(`/download/home/alice/own.txt${query}`)).status, 200)
  const other = await get(`/download/home/bob/own.txt${query}`)
  t.equal(other.code, 'GW_ERR_LINK_WRONG_PATH')
})

t.test('tampered, truncated and removed-key links are refused, each saying why', async (t) => {
  const link = await createLink({ path: '/public/hello.txt' })
  const [kid, payload, mac] = link.token.split('.') as [string, string, string]
  const flip = (s: string) =>
    s[2] === 'A' ? `${s.slice(0, 2)}B${s.slice(3)}` : `${s.slice(0, 2)}A${s.slice(3)}`
  const at = (token: string) => get(`/download/public/hello.txt?gwl=${token}`)
  const tampered = await at(`${kid}.${flip(payload)}.${mac}`)
  t.match(tampered, { status: 401, code: 'GW_ERR_LINK_BAD_SIGNATURE' })
  t.match(await at(`${kid}.${payload}.${flip(mac)}`), { status: 401, code: 'GW_ERR_LINK_BAD_SIGNATURE' })
  t.match(await at(link.token.slice(0, -5)), { status: 401, code: 'GW_ERR_LINK_MALFORMED' })
  t.match(await at(`${kid}.${payload}`), { status: 401, code: 'GW_ERR_LINK_MALFORMED' })
  const resigned = signed(REMOVED_KEY, '/public/hello.txt', now())
  t.match(await get(resigned), { status: 401, code: 'GW_ERR_LINK_UNKNOWN_KEY' })
})

t.test('rotation: a link signed with the older key still downloads while that key is listed', async (t) => {
  const old = signed(OLD_KEY, '/public/hello.txt', now())
  t.match(old, /gwl=k1\./)
  t.equal((await get(old)).status, 200)
})

t.test('a link downloads until it expires, then 410', async (t) => {
  const url = signed(NEW_KEY, '/public/hello.txt', now() - 3600 + 2)
  t.equal((await get(url)).status, 200)
  await new Promise((r) => setTimeout(r, 3000))
  t.match(await get(url), { status: 410, code: 'GW_ERR_LINK_EXPIRED' })
})

t.test('a revoked link is refused on the very next request', async (t) => {
  const link = await createLink({ path: '/public/hello.txt' })
  t.equal((await get(link.url)).status, 200)
  t.equal((await admin('DELETE', `/links/${link.id}`)).status, 204)
  t.match(await get(link.url), { status: 410, code: 'GW_ERR_LINK_REVOKED' })
})

t.test('a link limited to 5 downloads gives exactly 5 to 16 concurrent clients', async (t) => {
  const link = await createLink({ path: '/reports/q1.pdf', max_downloads: 5 })
  const results = await Promise.all(Array.from({ length: 16 }, () => get(link.url)))
  t.equal(results.filter((r) => r.status === 200).length, 5, 'five downloads')
  t.equal(
    results.filter((r) => r.code === 'GW_ERR_LINK_USED_UP' && r.status === 410).length,
    11,
    'eleven used up',
  )
  for (const r of results.filter((r) => r.status === 200))
    t.ok(r.body.equals(files['reports/q1.pdf'] as Buffer))
  t.match(await get(link.url), { status: 410, code: 'GW_ERR_LINK_USED_UP' })
})

t.test('the CLI signs links offline and revokes them in Redis', async (t) => {
  const out: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
  const env = { ...ENV, GATEWAY_CONFIG: join(gateway.dir, 'gateway.yaml') }
  const code = await cli(
    ['link', 'create', '--path', '/public/hello.txt', '--ttl', '1h', '--max-downloads', '3'],
    io,
    env,
  )
  t.equal(code, 0, out.join('\n'))
  const link = JSON.parse(out[0] as string) as { id: string; url: string }
  secrets.push(link.url)
  t.equal((await get(link.url)).status, 200)
  t.equal(await cli(['link', 'revoke', link.id], io, env), 0, out.join('\n'))
  t.match(await get(link.url), { status: 410, code: 'GW_ERR_LINK_REVOKED' })
  t.equal(await cli(['link', 'create', '--path', '/x', '--ttl', '8d'], io, env), 2, 'longer than max_ttl')
})

t.test('the admin API answers only with the admin token, and only on its own listener', async (t) => {
  t.equal((await admin('POST', '/tokens', { user: 'alice', ttl: '1h' }, 'wrong')).status, 401)
  const res = await fetch(`${adminUrl}/tokens`, { method: 'POST' })
  t.equal(res.status, 401)
  const viaNginx = await fetch(`${nginx.baseUrl}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'alice', ttl: '1h' }),
  })
  t.not(viaNginx.status, 201, 'nginx does not reach the admin API')
})

t.test('a token downloads with curl -OJ and wget, inside its scope, under the ACL', async (t) => {
  const made = await admin('POST', '/tokens', {
    user: 'alice',
    groups: ['finance'],
    ttl: '1h',
    scope: '/reports/',
  })
  t.equal(made.status, 201)
  const token = made.json.token as string
  secrets.push(token)
  const dir = await mkdtemp(join(tmpdir(), 'gw-token-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const url = `${nginx.baseUrl}/download/reports/q1.pdf`
  await run('curl', ['-sS', '-f', '-OJ', '-H', `Authorization: Bearer ${token}`, url], { cwd: join(dir) })
  t.ok((await readFile(join(dir, 'q1.pdf'))).equals(files['reports/q1.pdf'] as Buffer), 'curl -OJ: q1.pdf')
  const wgetDir = await mkdtemp(join(dir, 'wget-'))
  await run(
    'wget',
    ['-q', '--content-disposition', `--header=Authorization: Bearer ${token}`, `${url}?x=1`],
    {
      cwd: wgetDir,
    },
  )
  t.ok((await readFile(join(wgetDir, 'q1.pdf'))).equals(files['reports/q1.pdf'] as Buffer), 'wget: q1.pdf')
  t.match(await get('/download/public/hello.txt', { authorization: `Bearer ${token}` }), {
    status: 403,
    code: 'GW_ERR_TOKEN_OUT_OF_SCOPE',
  })
  const line = gateway.logs().findLast((l) => l.code === 'GW_ALLOW' && String(l.detail).includes('token'))
  t.match(line, { user: 'alice', detail: new RegExp(`token ${made.json.id}`) })
})

t.test('a token is bound to its user: the ACL still decides', async (t) => {
  const made = await admin('POST', '/tokens', { user: 'bob', ttl: '1h' })
  secrets.push(made.json.token as string)
  const auth = { authorization: `Bearer ${made.json.token}` }
  t.match(await get('/download/reports/q1.pdf', auth), { status: 403, code: 'GW_ERR_DENIED' })
  t.equal((await get('/download/home/bob/own.txt', auth)).status, 200)
})

t.test('a token is refused after revocation and after expiry; a wrong one says invalid', async (t) => {
  const out: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
  const env = { ...ENV, GATEWAY_CONFIG: join(gateway.dir, 'gateway.yaml') }
  t.equal(await cli(['token', 'create', '--user', 'alice', '--ttl', '1h'], io, env), 0, out.join('\n'))
  const made = JSON.parse(out[0] as string) as { id: string; token: string }
  secrets.push(made.token)
  const auth = { authorization: `Bearer ${made.token}` }
  t.equal((await get('/download/home/alice/own.txt', auth)).status, 200)
  t.equal(await cli(['token', 'revoke', made.id], io, env), 0, out.join('\n'))
  const revoked = await get('/download/home/alice/own.txt', auth)
  t.match(revoked, { status: 401, code: 'GW_ERR_TOKEN_REVOKED' })
  t.match(revoked.headers.get('www-authenticate'), /Bearer/)

  const short = await admin('POST', '/tokens', { user: 'alice', ttl: '2s' })
  secrets.push(short.json.token as string)
  const shortAuth = { authorization: `Bearer ${short.json.token}` }
  t.equal((await get('/download/home/alice/own.txt', shortAuth)).status, 200)
  await new Promise((r) => setTimeout(r, 3000))
  t.match(await get('/download/home/alice/own.txt', shortAuth), { status: 401, code: 'GW_ERR_TOKEN_EXPIRED' })

  const forged = `${made.token.slice(0, -4)}AAAA`
  t.match(await get('/download/home/alice/own.txt', { authorization: `Bearer ${forged}` }), {
    status: 401,
    code: 'GW_ERR_TOKEN_INVALID',
  })
  t.match(await get('/download/home/alice/own.txt', { authorization: 'Bearer nonsense' }), {
    code: 'GW_ERR_TOKEN_INVALID',
  })
})

t.test('a logged-in user shares a file they may read, as far as its rule allows', async (t) => {
  const alice = await scenario.login('alice')
  const bob = await scenario.login('bob')
  const share = (body: object, cookie?: string, type = 'application/json') =>
    fetch(`${gateway.baseUrl}/links`, {
      method: 'POST',
      headers: { 'content-type': type, ...(cookie ? { cookie } : {}) },
      body: type === 'application/json' ? JSON.stringify(body) : 'path=/home/alice/own.txt&ttl=1h',
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }))
  const made = await share({ path: '/home/alice/own.txt', ttl: '12h', max_downloads: 2 }, alice)
  t.equal(made.status, 201, JSON.stringify(made.json))
  secrets.push(made.json.url as string)
  const res = await get(made.json.url as string)
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'alice only\n')
  t.match(
    gateway.logs().findLast((l) => l.rule === `link:${made.json.id}`),
    { user: 'alice', code: 'GW_ALLOW' },
  )

  t.match(await share({ path: '/home/alice/own.txt', ttl: '2d' }, alice), {
    status: 403,
    json: { code: 'GW_ERR_SHARE_NOT_ALLOWED' },
  })
  t.match(
    await share({ path: '/reports/q1.pdf', ttl: '1h' }, alice),
    {
      status: 403,
      json: { code: 'GW_ERR_SHARE_NOT_ALLOWED' },
    },
    'readable, but its rule does not allow sharing',
  )
  t.match(await share({ path: '/home/alice/own.txt', ttl: '1h' }, bob), {
    status: 403,
    json: { code: 'GW_ERR_DENIED' },
  })
  t.match(await share({ path: '/home/alice/', ttl: '1h' }, alice), { status: 400 }, 'no folder links')
  t.match(await share({ path: '/home/alice/own.txt', ttl: '1h' }), {
    status: 401,
    json: { code: 'GW_ERR_NO_SESSION' },
  })
  t.match(
    await share({}, alice, 'application/x-www-form-urlencoded'),
    {
      status: 415,
      json: { code: 'GW_ERR_UNSUPPORTED_MEDIA' },
    },
    'a cross-site form post is refused',
  )
})

t.test(
  'a Redis that stops answering: links and tokens get 503 within the command timeout, never the file',
  async (t) => {
    const plain = await createLink({ path: '/reports/q1.pdf' })
    const counted = await createLink({ path: '/reports/q1.pdf', max_downloads: 100 })
    const made = await admin('POST', '/tokens', { user: 'alice', groups: ['finance'], ttl: '1h' })
    secrets.push(made.json.token as string)
    const auth = { authorization: `Bearer ${made.json.token}` }
    const path = '/download/reports/q1.pdf'
    const secret = files['reports/q1.pdf'] as Buffer
    const downloads = [() => get(plain.url), () => get(counted.url), () => get(path, auth)]
    for (const download of downloads) t.equal((await download()).status, 200, 'works before')
    scenario.redis.pause()
    try {
      for (const [i, download] of downloads.entries()) {
        const started = performance.now()
        const res = await download()
        const elapsed = performance.now() - started
        t.match(res, { status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' }, `download ${i + 1}: 503`)
        t.notOk(res.body.includes(secret.subarray(0, 64)), 'not the file')
        t.equal(res.headers.get('x-accel-redirect'), null)
        t.ok(
          elapsed >= SCENARIO_COMMAND_TIMEOUT_MS * 0.9 && elapsed < SCENARIO_COMMAND_TIMEOUT_MS + 1000,
          `after the command timeout (${Math.round(elapsed)} ms)`,
        )
      }
    } finally {
      scenario.redis.resume()
    }
    for (const download of downloads) {
      let status = 0
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await download()).status
        if (status !== 200) await new Promise((r) => setTimeout(r, 100))
      }
      t.equal(status, 200, 'works again once Redis answers')
    }
  },
)

t.test('no token, link token or admin token appears in a gateway or nginx log line', async (t) => {
  const text = gateway.logText() + nginx.errorLog()
  t.ok(secrets.length > 10, `secrets handed out (${secrets.length})`)
  for (const secret of secrets) {
    // The last 43 characters: a link's MAC, a token's secret part, the whole admin token.
    const part = secret.slice(-43)
    t.notOk(text.includes(part), `not logged: ...${part.slice(-6)}`)
  }
})
