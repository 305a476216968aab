// session.redis.mode and its keys: each mode's settings read as written, every bad combination
// refused at start with the file, line and field at fault, and the sentinels' password kept out
// of what may be logged.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { redactedConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'
import { describeRedis } from '../../src/redis/connection.js'

const ENV = { GATEWAY_SESSION_SECRETS: 'a-long-enough-secret-for-the-tests-000' }
const FILE = '/etc/gw/gateway.yaml'

/** A redis config whose session.redis block is `redis` (indented under it). */
function yaml(redis: string): string {
  return `delivery:
  mode: x-accel
  files_root: /srv/files
session:
  store: redis
  redis:
${redis
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
acl:
  paths: [acl.d]
`
}

function problemsOf(text: string, env: Record<string, string> = {}) {
  try {
    parseConfig(FILE, text, { ...ENV, ...env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.field}@${p.line}: ${p.message}`)
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('single is the default, as before: url, no nodes', async (t) => {
  const c = parseConfig(FILE, yaml('url: redis://cache:6379'), ENV)
  t.equal(c.session.redis.mode, 'single')
  t.equal(c.session.redis.url, 'redis://cache:6379')
  t.same(c.session.redis.nodes, [])
  t.equal(c.session.redis.tls, false)
  t.equal(describeRedis(c.session.redis), 'redis://cache:6379')
})

t.test('sentinel: the sentinels, the master name, two passwords from the environment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sentinel-cfg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'pw'), 'sentinel-secret\n')
  const text = yaml(`
mode: sentinel
nodes: ['s1:26379', 's2:26379', '[::1]:26380']
sentinel: { master_name: mymaster }
tls: true`)
  const c = parseConfig(FILE, text, {
    ...ENV,
    GATEWAY_REDIS_PASSWORD: 'data-secret',
    GATEWAY_REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'pw'),
  })
  t.equal(c.session.redis.mode, 'sentinel')
  t.same(c.session.redis.nodes, [
    { host: 's1', port: 26379 },
    { host: 's2', port: 26379 },
    { host: '::1', port: 26380 },
  ])
  t.equal(c.session.redis.masterName, 'mymaster')
  t.equal(c.session.redis.password, 'data-secret')
  t.equal(c.session.redis.sentinelPassword, 'sentinel-secret')
  t.equal(c.session.redis.tls, true)
  const logged = JSON.stringify(redactedConfig(c))
  t.notMatch(logged, /sentinel-secret|data-secret/, 'neither password may be logged')
  t.equal(describeRedis(c.session.redis), 'sentinel master mymaster via s1:26379,s2:26379,[::1]:26380')
})

t.test('cluster: seed nodes; no master name, no sentinel password', async (t) => {
  const c = parseConfig(FILE, yaml(`mode: cluster\nnodes: ['r1:7000', 'r2:7001']`), ENV)
  t.equal(c.session.redis.mode, 'cluster')
  t.same(c.session.redis.nodes, [
    { host: 'r1', port: 7000 },
    { host: 'r2', port: 7001 },
  ])
  t.equal(c.session.redis.masterName, undefined)
  t.equal(describeRedis(c.session.redis), 'cluster via r1:7000,r2:7001')
})

t.test('bad combinations are refused with file, line and field', async (t) => {
  // yaml() puts session.redis's first key on line 7.
  t.same(problemsOf(yaml(`mode: cluster`)), [
    'session.redis.nodes@7: mode cluster needs session.redis.nodes (seed nodes)',
  ])
  t.same(problemsOf(yaml(`mode: sentinel\nnodes: ['s:26379']`)), [
    'session.redis.sentinel.master_name@7: required with mode sentinel (the name the sentinels monitor)',
  ])
  t.same(problemsOf(yaml(`mode: cluster\nurl: redis://x:6379\nnodes: ['r:7000']`)), [
    'session.redis.url@8: is for mode single; mode cluster uses nodes',
  ])
  t.same(problemsOf(yaml(`url: redis://x:6379\nnodes: ['r:7000']`)), [
    'session.redis.nodes@8: is for mode sentinel or cluster; mode single uses url',
  ])
  t.same(problemsOf(yaml(`tls: true`)), [
    'session.redis.tls@7: is for mode sentinel or cluster; mode single says TLS with a rediss:// url',
  ])
  t.same(problemsOf(yaml(`mode: cluster\nnodes: ['r:7000']\nsentinel: { master_name: m }`)), [
    'session.redis.sentinel@9: is for mode sentinel',
  ])
  t.same(problemsOf(yaml(`mode: cluster\nnodes: ['r:70000']`)), [
    'session.redis.nodes[0]@8: port must be 1-65535',
  ])
  t.same(problemsOf(yaml(`url: redis://x:6379`), { GATEWAY_REDIS_SENTINEL_PASSWORD: 'x' }), [
    'GATEWAY_REDIS_SENTINEL_PASSWORD@0: is for session.redis.mode sentinel',
  ])
  t.same(problemsOf(yaml(`mode: cluster\nnodes: ['r:7000']`), { GATEWAY_REDIS_URL: 'redis://x' }), [
    'GATEWAY_REDIS_URL@0: is for session.redis.mode single; mode cluster uses session.redis.nodes',
  ])
  const malformed = problemsOf(yaml(`mode: cluster\nnodes: ['no-port']`))
  t.equal(malformed.length, 1, String(malformed))
  t.match(malformed[0], /^session\.redis\.nodes\[0\]@8: /, 'a node without a port: the schema says which')
  t.match(problemsOf(yaml(`mode: primary`))[0], /^session\.redis\.mode@7: /)
})
