import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { decisionWriter } from '../../src/http/decision-log.js'
import { type LineWriter, PrettyLines, prettyLine } from '../../src/log-pretty.js'
import { createLogger, flushLogger, resolveLogFormat, wantsColour } from '../../src/logger.js'

t.test('log format: auto is pretty on a terminal and JSON anywhere else; explicit wins', async (t) => {
  t.equal(resolveLogFormat('auto', true), 'pretty')
  t.equal(resolveLogFormat('auto', false), 'json')
  t.equal(resolveLogFormat('json', true), 'json')
  t.equal(resolveLogFormat('pretty', false), 'pretty')
})

t.test('log format: colours only on a terminal that wants them', async (t) => {
  t.equal(wantsColour(true, {}), true)
  t.equal(wantsColour(false, {}), false)
  t.equal(wantsColour(true, { NO_COLOR: '1' }), false)
  t.equal(wantsColour(true, { TERM: 'dumb' }), false)
})

const AT_NOON = new Date(2026, 0, 2, 12, 3, 4, 5).getTime()

t.test('pretty: time, level, message, then the fields as key=value', async (t) => {
  const line = prettyLine(
    JSON.stringify({
      level: 40,
      time: AT_NOON,
      service: 'download-gateway',
      file: '/etc/x.yaml',
      msg: 'careful',
    }),
    false,
  )
  t.equal(line, '12:03:04.005 WARN  careful file=/etc/x.yaml')
})

t.test('pretty: a decision line leads with status, method, path and code', async (t) => {
  const line = prettyLine(
    '{"level":30,"time":0,"service":"download-gateway","reqId":"req-7","method":"GET","status":403,"code":"GW_ERR_DENIED","path":"/home/alice/a.txt","user":"demo","ms":0.21,"msg":"decision"}',
    false,
  )
  t.match(
    line,
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}403 GET \/home\/alice\/a\.txt GW_ERR_DENIED reqId=req-7 user=demo ms=0\.21$/,
  )
})

t.test('pretty: client text cannot drive the terminal or break the line', async (t) => {
  const hostile = `/a\u001b[31mred\u009b2J\nnext\u202eevil`
  const line = prettyLine(
    JSON.stringify({
      level: 30,
      time: 0,
      method: 'GET',
      status: 400,
      code: 'GW_ERR_BAD_PATH',
      path: hostile,
      msg: 'decision',
    }),
    false,
  )
  const unsafe = [...line].filter((c) => {
    const code = c.charCodeAt(0)
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x2028 && code <= 0x202e)
  })
  t.same(unsafe, [], 'no control or direction characters left')
  t.match(line, '\\u001b[31mred\\u009b2J\\nnext\\u202eevil')
  t.equal(prettyLine('not json \u001b[2J', false), 'not json \\u001b[2J')
})

t.test(
  'pretty: long nested values are abbreviated; an error shows its message, then its stack',
  async (t) => {
    const big = {
      config: { a: 'x'.repeat(100) },
      list: Array.from({ length: 40 }, (_, i) => i),
      small: { a: 1 },
    }
    t.equal(
      prettyLine(JSON.stringify({ level: 30, time: 0, msg: 'm', ...big }), false).slice(13),
      'INFO  m config={…} list=[…40] small={"a":1}',
    )
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' }
    t.equal(
      prettyLine(JSON.stringify({ level: 60, time: 0, err, msg: 'unexpected error: boom' }), false).slice(13),
      'FATAL unexpected error: boom err=boom\n    at f (x.js:1:1)',
    )
  },
)

t.test('pretty: the url already in the message is not repeated; colours when asked', async (t) => {
  const json = JSON.stringify({
    level: 30,
    time: 0,
    url: 'http://127.0.0.1:3000/download/',
    msg: 'listening on http://127.0.0.1:3000/download/',
  })
  t.equal(prettyLine(json, false).slice(13), 'INFO  listening on http://127.0.0.1:3000/download/')
  t.match(prettyLine(json, true), '\u001b[32mINFO \u001b[0m')
})

/** A LineWriter that keeps what it is given. */
function collector(): LineWriter & { text: string } {
  return {
    text: '',
    write(line: string) {
      this.text += line
      return true
    },
    flush(cb?: () => void) {
      cb?.()
    },
    flushSync() {},
  }
}

t.test('pretty: pino and the decision writer both go through it, one line per event', async (t) => {
  const out = collector()
  const log = pino({ base: { service: 'download-gateway' } }, new PrettyLines(out, false))
  log.info({ rules: 3 }, 'ACL rules loaded')
  const write = decisionWriter(log)
  write(
    { id: 'req-1', method: 'GET', decision: { code: 'GW_ALLOW', path: '/p.txt' }, decisionStart: 0 } as never,
    { statusCode: 200 } as never,
  )
  const lines = out.text.split('\n')
  t.equal(lines.length, 3, 'two lines and the final newline')
  t.match(lines[0], / INFO {2}ACL rules loaded rules=3$/)
  t.match(lines[1], / INFO {2}200 GET \/p\.txt GW_ALLOW reqId=req-1$/)
})

t.test(
  'createLogger: JSON lines or pretty lines on the given descriptor, all written by flushLogger',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-logfmt-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    for (const format of ['json', 'pretty'] as const) {
      const path = join(dir, `${format}.log`)
      const fd = openSync(path, 'w')
      const log = createLogger('info', { format, fd })
      log.info({ port: 3000 }, 'hello')
      await flushLogger(log)
      closeSync(fd)
      const text = readFileSync(path, 'utf8')
      if (format === 'json')
        t.match(JSON.parse(text), { level: 30, service: 'download-gateway', port: 3000, msg: 'hello' })
      else t.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello port=3000\n$/)
    }
  },
)
