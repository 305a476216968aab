// The link and token commands' usage errors and exit statuses, with nothing running.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli.js'
import { freePort } from '../harness/ports.js'

async function run(args: string[], env: Record<string, string> = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const dir = await mkdtemp(join(tmpdir(), 'gw-cli-cred-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const config = join(dir, 'gateway.yaml')
// Nothing listens on this port: the store is unreachable.
await writeFile(
  config,
  `delivery:\n  mode: x-accel\n  files_root: ${dir}\nsession:\n  store: redis\n  redis:\n    url: redis://127.0.0.1:${await freePort()}\nacl:\n  paths: [acl.d]\n`,
)
const KEYS = { GATEWAY_LINK_KEYS: `k1:${'x'.repeat(40)}`, GATEWAY_CONFIG: config }

t.test('usage errors exit 2 with the usage text', async (t) => {
  t.match(await run(['link']), { code: 2, err: /unknown command 'link'.*link create/s })
  t.match(await run(['link', 'create', '--path', '/a']), { code: 2, err: /needs --path and --ttl/ })
  t.match(await run(['link', 'revoke', 'not-an-id'], KEYS), { code: 2, err: /not a link id/ })
  t.match(await run(['token', 'revoke', 'x', 'y'], KEYS), { code: 2, err: /exactly one id/ })
  t.match(await run(['link', 'create', '--path', '/a', '--ttl', '1h', '--max-downloads', '0'], KEYS), {
    code: 2,
  })
  t.match(await run(['link', 'create', '--path', '/a', '--ttl', '1h'], { GATEWAY_CONFIG: config }), {
    code: 2,
    err: /GATEWAY_LINK_KEYS/,
  })
  t.match(
    await run(['token', 'create', '--user', 'a', '--ttl', '1h', '--admin-url', 'http://127.0.0.1:1'], KEYS),
    {
      code: 2,
      err: /GATEWAY_ADMIN_TOKEN/,
    },
  )
})

t.test('link create signs offline: no store needed', async (t) => {
  const r = await run(['link', 'create', '--path', '/a/b.pdf', '--ttl', '1h', '--issuer', 'ops'], KEYS)
  t.equal(r.code, 0, r.err)
  t.match(JSON.parse(r.out), {
    path: '/a/b.pdf',
    folder: false,
    issuer: 'ops',
    url: /^\/download\/a\/b\.pdf\?gwl=k1\./,
  })
})

t.test('an unreachable store or admin API exits 3', async (t) => {
  t.match(await run(['token', 'create', '--user', 'a', '--ttl', '1h'], KEYS), { code: 3, err: /unavailable/ })
  const port = await freePort()
  const env = { ...KEYS, GATEWAY_ADMIN_TOKEN: 'a'.repeat(40) }
  t.match(
    await run(['token', 'revoke', 'abcdefghijklmnop', '--admin-url', `http://127.0.0.1:${port}`], env),
    {
      code: 3,
      err: /cannot be reached/,
    },
  )
})
