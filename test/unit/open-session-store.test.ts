// What start-up opens for sessions and what it says about them once listening: the embedded store
// and its warnings, a Redis store whose connection is said to have failed (never a rejection left
// for listen to trip on), and the lines of the other sources.
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { openSessionStore } from '../../src/session/open-session-store.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { startRedis } from '../harness/redis.js'

const SECRET = 'a-long-enough-secret-for-the-tests-000'
const yaml = (session: string) => `delivery:
  mode: x-accel
  files_root: /srv/files
session:
${session}acl:
  paths: [acl.d]
`

function capture() {
  const lines: { level: number; msg: string }[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { log: pino({ level: 'info' }, sink), lines }
}
const said = async (lines: { msg: string }[]) => {
  await new Promise((r) => setImmediate(r))
  return lines.map((l) => l.msg).join('\n')
}

t.test('embedded connect store: said to be in-process, and the made-up secret warned of', async (t) => {
  const config = parseConfig('/etc/gw/gateway.yaml', yaml('  store: memory\n'), {})
  const { log, lines } = capture()
  const opened = openSessionStore(config, log)
  t.ok(opened.store instanceof MemorySessionStore)
  t.equal(await opened.connected, undefined)
  t.equal(lines.length, 0, 'nothing is said before listening')
  for (const note of opened.notes) note()
  const text = await said(lines)
  t.match(text, /embedded session store/)
  t.match(text, /no GATEWAY_SESSION_SECRETS set/)
  await opened.store.close()
})

t.test('a Redis store: said to be connected once it is', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const config = parseConfig(
    '/etc/gw/gateway.yaml',
    yaml(`  store: redis\n  redis:\n    url: redis://127.0.0.1:${redis.port}\n`),
    { GATEWAY_SESSION_SECRETS: SECRET },
  )
  const { log, lines } = capture()
  const opened = openSessionStore(config, log)
  t.ok(opened.store instanceof RedisSessionStore)
  t.equal(await opened.connected, undefined)
  for (const note of opened.notes) note()
  const text = await said(lines)
  t.match(text, /session store connected/)
  t.notMatch(text, /no GATEWAY_SESSION_SECRETS|embedded session store/)
  await opened.store.close()
})

t.test('other sources: no connect store is opened, and the source is named', async (t) => {
  const config = parseConfig(
    '/etc/gw/gateway.yaml',
    yaml('  store: redis\n  source: php\n  php:\n    save_path: sessions\n'),
    {},
  )
  const { log, lines } = capture()
  const opened = openSessionStore(config, log)
  t.ok(opened.store instanceof MemorySessionStore, 'the php source opens its own reader')
  for (const note of opened.notes) note()
  const text = await said(lines)
  t.match(text, /session source: php/)
  t.notMatch(text, /embedded session store/)
  await opened.store.close()
})
