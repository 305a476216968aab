// The audit join on its own: what it does with lines it cannot read, requests the gateway never
// saw, refusals after an allow, and lines outside the download prefix.
import t from 'tap'
import { auditRecords, decisionsById } from '../../src/ops/audit.js'

const nginxLine = (o: Record<string, string>) =>
  JSON.stringify({
    time: 't',
    reqId: 'r',
    uri: '/download/a.txt',
    status: '200',
    bytes: '10',
    completion: 'OK',
    range: '',
    seconds: '0.001',
    upstream: '200',
    ...o,
  })

const decisions = decisionsById([
  'not json',
  '{"msg":"decision","reqId":"ok","code":"GW_ALLOW","user":"u1","path":"/a.txt","rule":"r@f:1"}',
  '{"msg":"decision","reqId":"denied","code":"GW_ERR_DENIED","user":"u2","path":"/a.txt"}',
  '{"msg":"ACL rules loaded","reqId":"other"}',
  '{"msg":"decision","reqId":"half',
])

t.test('only decision lines are kept', async (t) => {
  t.same([...decisions.keys()].sort(), ['denied', 'ok'])
})

t.test('outcomes', async (t) => {
  const records = [
    ...auditRecords(
      [
        nginxLine({ reqId: 'ok' }),
        nginxLine({ reqId: 'ok', status: '404' }),
        nginxLine({ reqId: 'denied', status: '403' }),
        nginxLine({ reqId: 'nobody' }),
        nginxLine({ reqId: 'ok', uri: '/login' }),
        '{"reqId":',
        '',
      ],
      decisions,
    ),
  ]
  t.same(
    records.map((r) => [r.reqId, r.outcome]),
    [
      ['ok', 'complete'],
      ['ok', 'refused'],
      ['denied', 'refused'],
      ['nobody', 'unknown'],
    ],
  )
  t.match(records[0], { user: 'u1', path: '/a.txt', rule: 'r@f:1', status: 200, bytes: 10, seconds: 0.001 })
  t.match(records[3], { user: null, path: null, code: null })
})
