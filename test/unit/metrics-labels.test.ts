// The decisions metric's labels stay bounded whatever is downloaded: a rule's label loses its
// file:line, and every share link (its own deciding "rule", link:<id>) counts under one label.
import t from 'tap'
import { GatewayMetrics } from '../../src/ops/metrics.js'

t.test('metrics: link ids never become label values; rule labels lose file:line', async (t) => {
  const metrics = new GatewayMetrics({ ruleCount: () => 0 })
  for (let i = 0; i < 50; i++) metrics.countDecision('GW_ALLOW', `link:${i}-abcdef`)
  metrics.countDecision('GW_ALLOW', 'staff-reports@/etc/acl.d/10.yaml:4')
  metrics.countDecision('GW_ERR_NO_SESSION', null)
  const { text } = await metrics.scrape()
  const lines = text.split('\n').filter((l) => l.startsWith('gateway_decisions_total{'))
  t.match(text, /gateway_decisions_total\{code="GW_ALLOW",rule="link"\} 50/)
  t.match(text, /gateway_decisions_total\{code="GW_ALLOW",rule="staff-reports"\} 1/)
  t.notMatch(text, /link:|abcdef|@|\.yaml/, 'no link id, file or line in any label')
  t.equal(lines.length, 3)
})

t.test('metrics: link and token decisions are counted apart from sessions, by code', async (t) => {
  const metrics = new GatewayMetrics({ ruleCount: () => 0 })
  metrics.countDecision('GW_ALLOW', 'link:abc', 'link')
  metrics.countDecision('GW_ERR_LINK_USED_UP', 'link:abc', 'link')
  metrics.countDecision('GW_ALLOW', 'staff@/a.yaml:1', 'token')
  metrics.countDecision('GW_ERR_TOKEN_REVOKED', null, 'token')
  metrics.countDecision('GW_ALLOW', 'staff@/a.yaml:1')
  const { text } = await metrics.scrape()
  const lines = text.split('\n').filter((l) => l.startsWith('gateway_credential_decisions_total{'))
  t.same(lines.sort(), [
    'gateway_credential_decisions_total{credential="link",code="GW_ALLOW"} 1',
    'gateway_credential_decisions_total{credential="link",code="GW_ERR_LINK_USED_UP"} 1',
    'gateway_credential_decisions_total{credential="token",code="GW_ALLOW"} 1',
    'gateway_credential_decisions_total{credential="token",code="GW_ERR_TOKEN_REVOKED"} 1',
  ])
})
